/**
 * The committed src/api/schema.d.ts is what openapi-typescript makes of the OpenAPI document the
 * server publishes today: a change to the admin API's shapes needs the types regenerated
 * (`npx tsx packages/console/scripts/api-types.ts`), and the console's type check then shows what
 * the change breaks.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateApiTypes, SCHEMA_FILE } from '../scripts/api-types.js';

describe('console API types', () => {
  it('are generated from the OpenAPI document the server publishes', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(
      committed === (await generateApiTypes()),
      'src/api/schema.d.ts is stale: run npx tsx packages/console/scripts/api-types.ts',
    ).toBe(true);
  });
});
