import type pg from 'pg';

/**
 * Named (server-side prepared) statements for the queries Gatehouse repeats. Kysely sends every
 * query unnamed, so PostgreSQL parses and plans it anew each time: for these short statements
 * that was most of the database's CPU (a refresh rotation's revocation checks, above all). The
 * database is what every process behind the load balancer shares, so its CPU per request sets
 * how far Gatehouse scales out.
 *
 * A statement is named by its SQL text, the same name on every connection (pg prepares it on a
 * connection's first use). Only queries with parameters are named (the others are DDL,
 * LISTEN/NOTIFY and transaction control), and at most MAX_NAMED texts per process, since
 * PostgreSQL keeps each on every connection. Prepared statements live in a session: a pooler in
 * transaction mode (PgBouncer's) in front of PostgreSQL is not supported, as LISTEN is not.
 */
const MAX_NAMED = 500;
/**
 * Longer parameter lists are one-off shapes (an audit batch with many rows): naming them would
 * spend the budget on statements that never come back.
 */
const MAX_PARAMETERS = 40;
/** SQLSTATE 0A000 with this message: a table changed shape under a prepared `select *`. */
const PLAN_CHANGED = /cached plan must not change result type/;

type Query = (...args: unknown[]) => Promise<unknown>;

export function prepareRepeatedQueries(pool: pg.Pool): void {
  const names = new Map<string, string>();
  /** Texts that must stay unnamed: another process migrated the schema under them. */
  const unnamed = new Set<string>();
  let next = 0;
  const nameOf = (text: string): string | undefined => {
    if (unnamed.has(text)) return undefined;
    let name = names.get(text);
    if (name === undefined && names.size < MAX_NAMED) {
      name = `gatehouse_${next++}`;
      names.set(text, name);
    }
    return name;
  };
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as Query;
    (client as unknown as { query: Query }).query = async (...args: unknown[]) => {
      const [text, values] = args;
      const name =
        args.length === 2 &&
        typeof text === 'string' &&
        Array.isArray(values) &&
        values.length > 0 &&
        values.length <= MAX_PARAMETERS
          ? nameOf(text)
          : undefined;
      if (name === undefined) return query(...args);
      try {
        return await query({ name, text, values });
      } catch (error) {
        // The statement failed before it ran, so running it unnamed is safe; it stays unnamed.
        // Inside a transaction the failure has aborted it, so the retry fails too and the caller
        // sees an error once; its next attempt runs unnamed.
        if (!(error instanceof Error) || !PLAN_CHANGED.test(error.message)) throw error;
        unnamed.add(text as string);
        return query(text, values);
      }
    };
  });
}
