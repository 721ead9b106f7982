import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * docs/admin-api.md against the OpenAPI document the server publishes: every operation has a
 * row, every row is an operation, and every request field and query parameter is named in its
 * row. A new endpoint or field without documentation fails here, with the list.
 */

const DOC = fileURLToPath(new URL('../../../docs/admin-api.md', import.meta.url));

interface Operation {
  readonly key: string;
  readonly fields: readonly string[];
}

interface OpenApi {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { in: string; name: string }[];
        requestBody?: { content?: Record<string, { schema?: Schema }> };
      }
    >
  >;
  components?: { schemas?: Record<string, Schema> };
}
interface Schema {
  $ref?: string;
  properties?: Record<string, unknown>;
}

function operations(document: OpenApi): Operation[] {
  const deref = (schema: Schema | undefined): Schema | undefined =>
    schema?.$ref === undefined
      ? schema
      : document.components?.schemas?.[schema.$ref.split('/').pop() ?? ''];
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      fields: [
        ...Object.keys(
          deref(op.requestBody?.content?.['application/json']?.schema)?.properties ?? {},
        ),
        ...(op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      ],
    })),
  );
}

/** The endpoint table's rows: `METHOD /path` and the body / query cell. */
function documented(): Map<string, string> {
  const text = readFileSync(DOC, 'utf8');
  const section = text.slice(text.indexOf('## Endpoints'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const match =
      /^\|\s*`(GET|POST|PATCH|PUT|DELETE) ([^`?\s]+)[^`]*`\s*\|[^|]*\|(.*?)(?<!\\)\|/.exec(line);
    if (match !== null) rows.set(`${match[1]} ${match[2]}`, match[3] ?? '');
  }
  return rows;
}

describe('docs/admin-api.md', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let ops: Operation[];

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    const response = await t.server.app.inject({ url: '/admin/api/openapi.json' });
    expect(response.statusCode).toBe(200);
    ops = operations(response.json<OpenApi>());
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('documents exactly the operations of the OpenAPI document', () => {
    const rows = documented();
    const inOpenApi = new Set(ops.map((op) => op.key));
    expect({
      undocumented: [...inOpenApi].filter((key) => !rows.has(key)).sort(),
      notInOpenApi: [...rows.keys()].filter((key) => !inOpenApi.has(key)).sort(),
    }).toEqual({ undocumented: [], notInOpenApi: [] });
  });

  it('names every request field and query parameter in its row', () => {
    const rows = documented();
    const missing = ops.flatMap((op) => {
      const cell = rows.get(op.key);
      if (cell === undefined) return [];
      return op.fields
        .filter((field) => !new RegExp(`\\b${field}\\b`).test(cell))
        .map((field) => `${op.key}: ${field}`);
    });
    expect(missing).toEqual([]);
  });
});
