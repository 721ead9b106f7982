/**
 * The console's API types, generated from the OpenAPI document the server publishes at
 * /admin/api/openapi.json: a server on a throwaway SQLite database in a temporary directory is
 * asked for it in-process (`app.inject`, no request leaves the process), openapi-typescript turns
 * it into `src/api/schema.d.ts`, and Prettier formats it like the rest of the repository.
 *
 *   npx tsx packages/console/scripts/api-types.ts          # write src/api/schema.d.ts
 *   npx tsx packages/console/scripts/api-types.ts --check  # fail when it is stale
 *
 * packages/console/test/api-types.test.ts runs the check with the tests.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { format, resolveConfig } from 'prettier';
import { resolveServerConfig, startServer } from '@gatehouse/server';

export const SCHEMA_FILE = fileURLToPath(new URL('../src/api/schema.d.ts', import.meta.url));

const HEADER = `/**
 * Generated from the admin API's OpenAPI document (/admin/api/openapi.json) by
 * packages/console/scripts/api-types.ts. Do not edit: run \`npx tsx packages/console/scripts/api-types.ts\`.
 */
`;

/** The OpenAPI document as the server publishes it. */
export async function fetchOpenApiDocument(): Promise<OpenAPI3> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-openapi-'));
  try {
    const server = await startServer(resolveServerConfig({ port: 0, dataDir }, dataDir), {
      logger: false,
    });
    try {
      const response = await server.app.inject({ url: '/admin/api/openapi.json' });
      if (response.statusCode !== 200)
        throw new Error(`GET /admin/api/openapi.json answered ${response.statusCode}`);
      return response.json<OpenAPI3>();
    } finally {
      await server.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The text `src/api/schema.d.ts` should hold. */
export async function generateApiTypes(): Promise<string> {
  const document = await fetchOpenApiDocument();
  const text = HEADER + astToString(await openapiTS(document, { immutable: true }));
  const options = await resolveConfig(SCHEMA_FILE);
  return format(text, { ...options, filepath: SCHEMA_FILE });
}

async function main(check: boolean): Promise<void> {
  const generated = await generateApiTypes();
  if (!check) {
    await writeFile(SCHEMA_FILE, generated);
    return;
  }
  const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
  if (committed !== generated) {
    process.exitCode = 1;
    console.error(`${SCHEMA_FILE} is stale: run npx tsx packages/console/scripts/api-types.ts`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.includes('--check'));
}
