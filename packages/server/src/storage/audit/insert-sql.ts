import { CompiledQuery } from 'kysely';

/**
 * INSERT statements written as text rather than built and compiled by Kysely, which cost more
 * than the database's own work for the rows an audit batch carries. The identifiers are the
 * stores' own table and column names (checked to be plain identifiers anyway); every value is a
 * bound parameter.
 */

/** A row to insert, as the row writer receives it. */
export interface RowInsert {
  readonly table: string;
  readonly row: object;
  /** A unique key: a row with the same key is overwritten instead (an upsert). */
  readonly upsertOn?: readonly string[];
}

/** Which statement a row needs: rows of one shape share a statement text. */
export interface InsertShape {
  readonly table: string;
  readonly columns: readonly string[];
  readonly upsertOn: readonly string[];
  /** Equal for equal shapes. */
  readonly key: string;
}

const IDENTIFIER = /^[a-z_]+$/;

/** The row's defined columns, in order, and the statement shape they make. */
export function insertShape(insert: RowInsert): InsertShape {
  const record = insert.row as Record<string, unknown>;
  const columns = Object.keys(record).filter((column) => record[column] !== undefined);
  const upsertOn = insert.upsertOn ?? [];
  if (![insert.table, ...columns, ...upsertOn].every((name) => IDENTIFIER.test(name)))
    throw new TypeError(`not an identifier in ${insert.table}(${columns.join(',')})`);
  return {
    table: insert.table,
    columns,
    upsertOn,
    key: `${insert.table}(${columns.join(',')})${upsertOn.length === 0 ? '' : `^(${upsertOn.join(',')})`}`,
  };
}

/** The row's values in the shape's column order. */
export function valuesOf(shape: InsertShape, row: object): unknown[] {
  const record = row as Record<string, unknown>;
  return shape.columns.map((column) => record[column]);
}

/**
 * `insert into ... values <tuples>`, with an upsert's conflict clause: the key's columns stay,
 * the others take the new row's values. Both SQLite (3.24+) and PostgreSQL read it alike.
 */
export function insertText(shape: InsertShape, tuples: string): string {
  const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
  const text = `insert into "${shape.table}" (${quoted(shape.columns)}) values ${tuples}`;
  if (shape.upsertOn.length === 0) return text;
  const overwritten = shape.columns.filter((c) => !shape.upsertOn.includes(c));
  const action =
    overwritten.length === 0
      ? 'do nothing'
      : `do update set ${overwritten.map((c) => `"${c}" = excluded."${c}"`).join(', ')}`;
  return `${text} on conflict (${quoted(shape.upsertOn)}) ${action}`;
}

/** SQLite statement texts by shape: the same few shapes, every batch. */
const sqliteTexts = new Map<string, string>();

/**
 * One row's statement on SQLite: one statement per row, whose prepared statement better-sqlite3
 * reuses (a multi-row statement would be a new one for every batch size).
 */
export function sqliteInsert(insert: RowInsert): CompiledQuery {
  const shape = insertShape(insert);
  let text = sqliteTexts.get(shape.key);
  if (text === undefined) {
    text = insertText(shape, `(${shape.columns.map(() => '?').join(', ')})`);
    sqliteTexts.set(shape.key, text);
  }
  return CompiledQuery.raw(text, valuesOf(shape, insert.row));
}

/** Rows of one shape. */
export interface InsertGroup {
  readonly shape: InsertShape;
  readonly rows: object[];
}

/** Groups rows by statement shape, in the order each shape first appears. */
export function groupByShape(inserts: readonly RowInsert[]): InsertGroup[] {
  const groups = new Map<string, InsertGroup>();
  for (const insert of inserts) {
    const shape = insertShape(insert);
    const group = groups.get(shape.key) ?? { shape, rows: [] };
    group.rows.push(insert.row);
    groups.set(shape.key, group);
  }
  return [...groups.values()];
}

/**
 * PostgreSQL: one multi-row statement for a group, its values numbered by `placeholder` (which
 * collects them), so a caller can put several in one statement.
 */
export function postgresInsertText(
  group: InsertGroup,
  placeholder: (value: unknown) => string,
): string {
  const tuples = group.rows
    .map((row) => `(${valuesOf(group.shape, row).map(placeholder).join(', ')})`)
    .join(', ');
  return insertText(group.shape, tuples);
}

/** A function that numbers parameters `$1`, `$2`, ... and the list they go in. */
export function postgresParameters(): {
  readonly params: unknown[];
  readonly placeholder: (value: unknown) => string;
} {
  const params: unknown[] = [];
  return {
    params,
    placeholder: (value) => {
      params.push(value);
      return `$${params.length}`;
    },
  };
}
