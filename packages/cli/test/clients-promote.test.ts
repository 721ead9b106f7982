import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData, type CliRun } from './harness.js';

interface ClientJson {
  client_id: string;
  environment: string;
  name: string;
  type: string;
  redirect_uris: string[];
  redirect_uri_expiries: Record<string, string>;
  grant_types: string[];
  managed_by: string | null;
  promoted_from: string | null;
  client_secret?: string;
}

interface AuditJson {
  type: string;
  environment: string | null;
  clientId: string | null;
}

const EXACT = 'https://app.staging.example.com/cb';
const WILDCARD = 'https://*.review.example.com/cb';
const WILDCARD_REFUSAL =
  'Wildcard redirect URIs are not allowed in production; register each exact redirect URI.';

let workDir: string;
let stagingId: string;

const data = (): string[] => ['--data-dir', join(workDir, 'data')];
const cli = (argv: string[]): Promise<CliRun> => gatehouse([...argv, ...data()], { cwd: workDir });

async function clientsIn(environment: string): Promise<ClientJson[]> {
  const listed = await cli(['clients', 'list', '--env', environment, '--json']);
  expect(listed.code).toBe(0);
  return JSON.parse(listed.stdout) as ClientJson[];
}

async function show(environment: string, clientId: string): Promise<ClientJson> {
  const shown = await cli(['clients', 'show', clientId, '--env', environment, '--json']);
  expect(shown.code).toBe(0);
  return JSON.parse(shown.stdout) as ClientJson;
}

async function auditEntries(): Promise<AuditJson[]> {
  const tail = await cli(['audit', 'tail', '--json', '--limit', '99999']);
  expect(tail.code).toBe(0);
  return JSON.parse(tail.stdout) as AuditJson[];
}

const promote = (...extra: string[]): Promise<CliRun> =>
  cli([
    'clients',
    'promote',
    '--from',
    'staging',
    '--to',
    'production',
    '--client',
    stagingId,
    ...extra,
  ]);

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gatehouse-promote-'));
  await initData(data());
  const created = await cli([
    'clients',
    'create',
    '--env',
    'staging',
    '--type',
    'web',
    '--name',
    'Storefront',
    '--redirect-uri',
    EXACT,
    '--redirect-uri',
    WILDCARD,
    '--json',
  ]);
  expect(created.code).toBe(0);
  const client = JSON.parse(created.stdout) as ClientJson;
  // Wildcards are allowed in staging.
  expect(client.redirect_uris).toEqual([EXACT, WILDCARD]);
  stagingId = client.client_id;
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('gatehouse clients promote', () => {
  it('refuses when production refuses a URI, names it with the policy message, creates nothing', async () => {
    const before = await auditEntries();
    const refused = await promote();
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`  copy    ${EXACT}\n`);
    expect(refused.stdout).toContain(`  refused ${WILDCARD}: ${WILDCARD_REFUSAL}\n`);
    expect(refused.stderr).toBe(
      'gatehouse: error: production refuses 1 redirect URI(s); nothing was promoted (use --drop-refused to promote without them)\n',
    );
    expect(refused.stdout).not.toContain('client_secret');
    expect(await clientsIn('production')).toEqual([]);
    expect(await auditEntries()).toHaveLength(before.length);
  });

  it('shows the plan with --dry-run, exits 0 and changes nothing', async () => {
    const dry = await promote('--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toBe(
      [
        `promote ${stagingId} from staging to production: a new client with new credentials`,
        `  copy    ${EXACT}`,
        `  refused ${WILDCARD}: ${WILDCARD_REFUSAL}`,
        '',
      ].join('\n'),
    );
    expect(await clientsIn('production')).toEqual([]);
    const json = await promote('--dry-run', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      applied: false,
      plan: {
        action: 'create',
        accepted: [EXACT],
        refused: [{ uri: WILDCARD, message: WILDCARD_REFUSAL }],
      },
    });
    expect(await clientsIn('production')).toEqual([]);
  });

  it('with --drop-refused creates the production client once, then updates that same client', async () => {
    const first = await promote('--drop-refused');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`  refused ${WILDCARD}: ${WILDCARD_REFUSAL}`);
    const secret = /^client_secret (ghs_production_\S+)$/m.exec(first.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(first.stdout).toContain('shown once');

    const target = (await clientsIn('production'))[0];
    expect(await clientsIn('production')).toHaveLength(1);
    const shown = await show('production', target?.client_id ?? '');
    expect(shown.client_id).toMatch(/^ghc_production_/);
    expect(shown.client_id).not.toBe(stagingId);
    expect(first.stdout).toContain(`promoted: ${shown.client_id} in production`);
    expect(shown).toMatchObject({
      name: 'Storefront',
      type: 'web',
      redirect_uris: [EXACT],
      redirect_uri_expiries: {},
      grant_types: ['authorization_code', 'refresh_token'],
      promoted_from: `staging/${stagingId}`,
      managed_by: null,
    });
    expect(JSON.stringify(shown)).not.toContain(secret ?? 'no secret');
    const text = await cli(['clients', 'show', shown.client_id, '--env', 'production']);
    expect(text.stdout).toContain(`promoted from staging/${stagingId}`);

    // The source changes; promoting again updates the same production client, with no new secret.
    expect(
      (await cli(['clients', 'update', stagingId, '--env', 'staging', '--name', 'Storefront 2']))
        .code,
    ).toBe(0);
    const second = await promote('--drop-refused');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      `promote ${stagingId} from staging to production: update ${shown.client_id}`,
    );
    expect(second.stdout).toContain(`promoted: ${shown.client_id} in production`);
    expect(second.stdout).not.toContain('client_secret');
    const production = await clientsIn('production');
    expect(production.map((c) => c.client_id)).toEqual([shown.client_id]);
    expect(production[0]).toMatchObject({ name: 'Storefront 2', redirect_uris: [EXACT] });

    const promoted = (await auditEntries()).filter((e) => e.environment === 'production');
    expect(promoted.map((e) => [e.type, e.clientId])).toEqual([
      ['environment.created', null],
      ['client.created', shown.client_id],
      ['client.promoted', shown.client_id],
    ]);
  });

  it('prints the new secret in JSON with --drop-refused --json', async () => {
    const result = await promote('--drop-refused', '--json');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as {
      applied: boolean;
      client: ClientJson;
      client_secret?: string;
    };
    expect(json.applied).toBe(true);
    expect(json.client.redirect_uris).toEqual([EXACT]);
    expect(json.client_secret).toMatch(/^ghs_production_/);
    const again = JSON.parse((await promote('--drop-refused', '--json')).stdout) as {
      client: ClientJson;
      client_secret?: string;
    };
    expect(again.client.client_id).toBe(json.client.client_id);
    expect(again.client_secret).toBeUndefined();
  });

  it('never promotes temporary redirect URIs', async () => {
    const temporary = 'https://pr-7.review.example.com/cb';
    expect(
      (
        await cli([
          'clients',
          'add-redirect',
          '--env',
          'staging',
          '--client',
          stagingId,
          '--uri',
          temporary,
          '--expires-in',
          '2h',
        ])
      ).code,
    ).toBe(0);
    const result = await promote('--drop-refused');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`  skip    ${temporary} (temporary)`);
    expect((await clientsIn('production'))[0]?.redirect_uris).toEqual([EXACT]);
  });

  it('exits 1 for an unknown client, an unknown environment or the same environment', async () => {
    const unknownClient = await cli([
      'clients',
      'promote',
      '--from',
      'staging',
      '--to',
      'production',
      '--client',
      'ghc_staging_nope',
    ]);
    expect(unknownClient.code).toBe(1);
    expect(unknownClient.stderr).toBe(
      'gatehouse: error: no client ghc_staging_nope in environment staging\n',
    );
    const unknownEnv = await cli([
      'clients',
      'promote',
      '--from',
      'staging',
      '--to',
      'prod',
      '--client',
      stagingId,
    ]);
    expect(unknownEnv.code).toBe(1);
    expect(unknownEnv.stderr).toMatch(/^gatehouse: error: .*prod.*\n$/);
    const same = await cli([
      'clients',
      'promote',
      '--from',
      'staging',
      '--to',
      'staging',
      '--client',
      stagingId,
    ]);
    expect(same.code).toBe(1);
    expect(same.stderr).toBe(
      'gatehouse: error: a client is promoted to another environment, not its own\n',
    );
    expect(await clientsIn('production')).toEqual([]);
    expect(await clientsIn('staging')).toHaveLength(1);
  });
});

describe('gatehouse clients add-redirect', () => {
  const addRedirect = (uri: string, ...extra: string[]): Promise<CliRun> =>
    cli([
      'clients',
      'add-redirect',
      '--env',
      'staging',
      '--client',
      stagingId,
      '--uri',
      uri,
      ...extra,
    ]);

  it('registers a temporary URI with its expiry', async () => {
    const uri = 'https://pr-42.review-app.example.com/cb';
    const started = Date.now();
    const added = await addRedirect(uri, '--expires-in', '7d');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      /^ {14}https:\/\/pr-42\.review-app\.example\.com\/cb {2}\(expires \d{4}-\d\d-\d\dT[\d:.]+Z\)$/m,
    );
    const client = await show('staging', stagingId);
    expect(client.redirect_uris).toEqual([EXACT, WILDCARD, uri]);
    expect(Object.keys(client.redirect_uri_expiries)).toEqual([uri]);
    const at = Date.parse(client.redirect_uri_expiries[uri] ?? '');
    const week = 7 * 24 * 3600 * 1000;
    expect(at).toBeGreaterThanOrEqual(started + week);
    expect(at).toBeLessThanOrEqual(Date.now() + week);
    expect(added.stdout).toContain(`(expires ${client.redirect_uri_expiries[uri] ?? ''})`);
  });

  it('registers a permanent URI without --expires-in', async () => {
    const uri = 'https://app2.staging.example.com/cb';
    const added = await addRedirect(uri, '--json');
    expect(added.code).toBe(0);
    const json = JSON.parse(added.stdout) as ClientJson;
    expect(json.redirect_uris).toContain(uri);
    expect(json.redirect_uri_expiries).toEqual({});
  });

  it('exits 1 in one line for a duration that is not one', async () => {
    for (const duration of ['0d', 'soon', '-1d', '7w', '366d']) {
      const result = await addRedirect(
        'https://pr-1.review-app.example.com/cb',
        '--expires-in',
        duration,
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^gatehouse: error: [^\n]+\n$/);
    }
    expect((await addRedirect('x', '--expires-in', 'soon')).stderr).toBe(
      'gatehouse: error: "soon" is not a duration: use a number and m, h or d (30m, 12h, 7d)\n',
    );
    expect((await show('staging', stagingId)).redirect_uris).toEqual([EXACT, WILDCARD]);
  });

  it('exits 1 when the policy refuses the URI, and stores nothing', async () => {
    const before = await auditEntries();
    const refused = await addRedirect(
      'http://pr-1.review-app.example.com/cb',
      '--expires-in',
      '7d',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'gatehouse: error: redirect URI http://pr-1.review-app.example.com/cb refused: Plain http is allowed only on the loopback hosts 127.0.0.1, [::1] and localhost; use https://pr-1.review-app.example.com/cb.\n',
    );
    const client = await show('staging', stagingId);
    expect(client.redirect_uris).toEqual([EXACT, WILDCARD]);
    expect(client.redirect_uri_expiries).toEqual({});
    expect(await auditEntries()).toHaveLength(before.length);
  });

  it('exits 1 for a client that does not exist', async () => {
    const result = await cli([
      'clients',
      'add-redirect',
      '--env',
      'production',
      '--client',
      stagingId,
      '--uri',
      'https://app.example.com/cb',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `gatehouse: error: no client ${stagingId} in environment production\n`,
    );
  });
});
