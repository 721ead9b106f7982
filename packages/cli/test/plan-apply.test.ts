import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
  managed_by: string | null;
  promoted_from: string | null;
}

interface AuditJson {
  seq: number;
  type: string;
  environment: string | null;
  clientId: string | null;
}

interface PlanJson {
  changes: { key: string; environment: string; action: string; addedUris: { uri: string }[] }[];
  problems: { key: string; environment: string; uri?: string; code: string; message: string }[];
  changeCount: number;
}

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gatehouse-plan-apply-'));
  await initData(data());
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const data = (): string[] => ['--data-dir', join(workDir, 'data')];

/** Runs gatehouse in the work directory against this test's data, with only these variables set. */
const cli = (argv: string[], env: Record<string, string> = {}): Promise<CliRun> =>
  gatehouse([...argv, ...data()], { cwd: workDir, env });

async function writeFileIn(name: string, text: string): Promise<void> {
  await writeFile(join(workDir, name), text);
}

async function clientsIn(environment: string): Promise<ClientJson[]> {
  const listed = await cli(['clients', 'list', '--env', environment, '--json']);
  expect(listed.code).toBe(0);
  return JSON.parse(listed.stdout) as ClientJson[];
}

async function auditEntries(): Promise<AuditJson[]> {
  const tail = await cli(['audit', 'tail', '--json', '--limit', '99999']);
  expect(tail.code).toBe(0);
  return JSON.parse(tail.stdout) as AuditJson[];
}

const clientEntries = (entries: readonly AuditJson[]): AuditJson[] =>
  entries.filter((e) => e.type.startsWith('client.'));

function only<T>(list: readonly T[]): T {
  expect(list).toHaveLength(1);
  return list[0] as T;
}

const WILDCARD_IN_PRODUCTION = `version: 1
clients:
  - key: shop
    name: Shop
    type: web
    environments:
      staging:
        redirectUris:
          - https://shop.staging.example.com/callback
      production:
        redirectUris:
          - https://*.example.com/callback
`;

const VALID = `version: 1
clients:
  - key: shop
    name: Shop
    type: web
    environments:
      staging:
        redirectUris:
          - https://shop.staging.example.com/callback
      production:
        redirectUris:
          - https://shop.example.com/callback
  - key: mobile
    name: Mobile
    type: native
    environments:
      production:
        redirectUris:
          - com.example.mobile:/callback
`;

describe('gatehouse plan / apply: the policy refuses the file', () => {
  it('refuses a production wildcard in plan and apply, and writes nothing at all', async () => {
    await writeFileIn('clients.yaml', WILDCARD_IN_PRODUCTION);
    const before = await auditEntries();

    const plan = await cli(['plan', '-f', 'clients.yaml']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(
      'refused: production/shop https://*.example.com/callback: Wildcard redirect URIs are not allowed in production',
    );
    expect(plan.stdout).toContain('apply would refuse this file and change nothing');

    const apply = await cli(['apply', '-f', 'clients.yaml']);
    expect(apply.code).toBe(1);
    expect(apply.stdout).toBe('');
    expect(apply.stderr).toMatch(/^gatehouse: error: .*\n$/);
    expect(apply.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(apply.stderr).toContain('https://*.example.com/callback');
    expect(apply.stderr).toContain('nothing applied');

    // The valid staging half of the file was not applied either: all or nothing.
    expect(await clientsIn('staging')).toEqual([]);
    expect(await clientsIn('production')).toEqual([]);
    const after = await auditEntries();
    expect(after).toHaveLength(before.length);
    expect(clientEntries(after)).toEqual([]);
  });

  it('reports every problem with --json and still writes nothing', async () => {
    await writeFileIn(
      'clients.json',
      JSON.stringify({
        version: 1,
        clients: [
          {
            key: 'shop',
            name: 'Shop',
            type: 'web',
            environments: {
              production: {
                redirectUris: ['https://*.example.com/callback', 'http://shop.example.com/cb'],
              },
            },
          },
        ],
      }),
    );
    const plan = await cli(['plan', '-f', 'clients.json', '--json']);
    expect(plan.code).toBe(1);
    const result = JSON.parse(plan.stdout) as PlanJson;
    expect(result.problems.map((p) => p.uri)).toEqual([
      'https://*.example.com/callback',
      'http://shop.example.com/cb',
    ]);
    const apply = await cli(['apply', '-f', 'clients.json']);
    expect(apply.code).toBe(1);
    expect(apply.stderr.split('\n')[0]).toMatch(
      /^gatehouse: error: 2 problem\(s\), nothing applied/,
    );
    expect(await clientsIn('production')).toEqual([]);
  });
});

describe('gatehouse plan / apply: a name that reads as another', () => {
  it('is a problem in plan, so plan and apply agree, and nothing is written', async () => {
    // "\u202emoc.elgoog" reads as "google.com" on the consent page; apply refuses it, and plan
    // used to call the file a change with no problem (exit 3).
    await writeFileIn(
      'clients.json',
      JSON.stringify({
        version: 1,
        clients: [
          {
            key: 'spoof',
            name: '\u202emoc.elgoog',
            type: 'native',
            environments: { staging: { redirectUris: ['http://127.0.0.1/callback'] } },
          },
        ],
      }),
    );
    const plan = await cli(['plan', '-f', 'clients.json', '--json']);
    expect(plan.code).toBe(1);
    expect((JSON.parse(plan.stdout) as PlanJson).problems).toMatchObject([
      { key: 'spoof', environment: 'staging', code: 'invalid_client_name' },
    ]);
    const apply = await cli(['apply', '-f', 'clients.json']);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain('bidirectional overrides');
    expect(await clientsIn('staging')).toEqual([]);
  });
});

describe('gatehouse plan / apply: a name with spaces around it', () => {
  it('is stored trimmed and is in sync after apply, not a change forever', async () => {
    await writeFileIn(
      'clients.json',
      JSON.stringify({
        version: 1,
        clients: [
          {
            key: 'padded',
            name: '  Shop  ',
            type: 'native',
            environments: { staging: { redirectUris: ['http://127.0.0.1/callback'] } },
          },
        ],
      }),
    );
    expect((await cli(['apply', '-f', 'clients.json'])).code).toBe(0);
    expect((await clientsIn('staging')).map((c) => c.name)).toEqual(['Shop']);
    const again = await cli(['plan', '-f', 'clients.json', '--json']);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as PlanJson).changeCount).toBe(0);
  });
});

describe('gatehouse plan / apply: a valid file', () => {
  it('plans creations, applies them once with secrets shown once, then is in sync', async () => {
    await writeFileIn('clients.yaml', VALID);

    const plan = await cli(['plan', '-f', 'clients.yaml']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain('+ staging/shop: create');
    expect(plan.stdout).toContain('+ production/shop: create');
    expect(plan.stdout).toContain('+ production/mobile: create');
    expect(plan.stdout).toContain('    + https://shop.example.com/callback');
    expect(plan.stdout).toContain('3 client(s) to change: run gatehouse apply -f clients.yaml');
    // Planning writes nothing.
    expect(await clientsIn('production')).toEqual([]);

    const apply = await cli(['apply', '-f', 'clients.yaml']);
    expect(apply.code).toBe(0);
    expect(apply.stderr).toBe('');
    expect(apply.stdout).toContain('applied: 3 client(s) changed');
    const production = await clientsIn('production');
    const staging = await clientsIn('staging');
    const shop = only(production.filter((c) => c.managed_by === 'shop'));
    const mobile = only(production.filter((c) => c.managed_by === 'mobile'));
    const stagingShop = only(staging);
    expect(shop).toMatchObject({
      name: 'Shop',
      type: 'web',
      redirect_uris: ['https://shop.example.com/callback'],
    });
    expect(mobile).toMatchObject({
      type: 'native',
      redirect_uris: ['com.example.mobile:/callback'],
    });
    expect(stagingShop.redirect_uris).toEqual(['https://shop.staging.example.com/callback']);

    // One secret for each web client, none for the native one.
    const secrets = [...apply.stdout.matchAll(/^client_secret for (\S+) \((\S+)\): (\S+)$/gm)];
    expect(secrets.map((m) => [m[1], m[2]])).toEqual([
      ['staging/shop', stagingShop.client_id],
      ['production/shop', shop.client_id],
    ]);
    expect(apply.stdout).not.toContain(`client_secret for production/mobile`);
    const productionSecret = secrets[1]?.[3] ?? '';
    expect(productionSecret).toMatch(/^ghs_production_/);

    const audited = (await auditEntries()).length;
    const again = await cli(['apply', '-f', 'clients.yaml']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('in sync: nothing changed');
    expect(again.stdout).not.toContain('client_secret');
    expect(again.stdout).not.toContain(productionSecret);
    expect((await auditEntries()).length).toBe(audited);
    expect((await clientsIn('production')).map((c) => c.client_id).sort()).toEqual(
      [shop.client_id, mobile.client_id].sort(),
    );

    const after = await cli(['plan', '-f', 'clients.yaml']);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('in sync: nothing to apply');
    expect(after.stdout).toContain(`= production/shop (${shop.client_id}): no changes`);
  });

  it('marks every client it creates as managed by its key, in show and list', async () => {
    await writeFileIn('clients.yaml', VALID);
    expect((await cli(['apply', '-f', 'clients.yaml'])).code).toBe(0);
    for (const environment of ['staging', 'production']) {
      for (const client of await clientsIn(environment)) {
        expect(['shop', 'mobile']).toContain(client.managed_by);
        expect(client.promoted_from).toBeNull();
        const shown = await cli([
          'clients',
          'show',
          client.client_id,
          '--env',
          environment,
          '--json',
        ]);
        expect(shown.code).toBe(0);
        expect((JSON.parse(shown.stdout) as ClientJson).managed_by).toBe(client.managed_by);
        const text = await cli(['clients', 'show', client.client_id, '--env', environment]);
        expect(text.stdout).toContain(`managed by    file key ${client.managed_by ?? ''}`);
      }
    }
  });

  it('applies an update to the managed client in place, audited as client.applied', async () => {
    await writeFileIn('clients.yaml', VALID);
    expect((await cli(['apply', '-f', 'clients.yaml'])).code).toBe(0);
    const shop = only((await clientsIn('production')).filter((c) => c.managed_by === 'shop'));
    await writeFileIn(
      'clients.yaml',
      VALID.replace('name: Shop', 'name: Shop Two').replace(
        '          - https://shop.example.com/callback\n',
        '          - https://shop.example.com/callback\n          - https://shop.example.com/callback2\n',
      ),
    );
    const plan = await cli(['plan', '-f', 'clients.yaml']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain(`~ production/shop (${shop.client_id}): update`);
    expect(plan.stdout).toContain('    name: Shop -> Shop Two');
    expect(plan.stdout).toContain('    + https://shop.example.com/callback2');
    const apply = await cli(['apply', '-f', 'clients.yaml']);
    expect(apply.code).toBe(0);
    // An update issues no new secret.
    expect(apply.stdout).not.toContain('client_secret');
    const updated = only((await clientsIn('production')).filter((c) => c.managed_by === 'shop'));
    expect(updated).toMatchObject({
      client_id: shop.client_id,
      name: 'Shop Two',
      redirect_uris: ['https://shop.example.com/callback', 'https://shop.example.com/callback2'],
    });
    const applied = (await auditEntries()).filter((e) => e.type === 'client.applied');
    expect(applied.map((e) => [e.environment, e.clientId]).sort()).toEqual(
      [
        ['production', shop.client_id],
        ['staging', only(await clientsIn('staging')).client_id],
      ].sort(),
    );
  });
});

describe('gatehouse plan / apply: ${VAR} interpolation', () => {
  const REVIEW = `version: 1
clients:
  - key: review
    name: Review app
    type: web
    environments:
      staging:
        redirectUris:
          - https://pr-\${PR}.review.example.com/callback
`;

  it('reads the variable from the environment', async () => {
    await writeFileIn('review.yaml', REVIEW);
    const plan = await cli(['plan', '-f', 'review.yaml'], { PR: '42' });
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain('+ https://pr-42.review.example.com/callback');
    const apply = await cli(['apply', '-f', 'review.yaml'], { PR: '42' });
    expect(apply.code).toBe(0);
    expect(only(await clientsIn('staging')).redirect_uris).toEqual([
      'https://pr-42.review.example.com/callback',
    ]);
  });

  it('names a missing variable and changes nothing', async () => {
    await writeFileIn('review.yaml', REVIEW);
    const plan = await cli(['plan', '-f', 'review.yaml'], { OTHER: '1' });
    expect(plan.code).not.toBe(0);
    expect(plan.code).not.toBe(3);
    expect(plan.stderr).toMatch(/^gatehouse: error: .*\$\{PR\}.*\n$/);
    const apply = await cli(['apply', '-f', 'review.yaml']);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain('${PR}');
    expect(await clientsIn('staging')).toEqual([]);
  });

  it('names every missing variable at once', async () => {
    await writeFileIn(
      'review.yaml',
      REVIEW.replace('name: Review app', 'name: Review ${TEAM}').replace('${PR}', '${PR}-${RUN}'),
    );
    const plan = await cli(['plan', '-f', 'review.yaml'], { RUN: '7' });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain('${TEAM}');
    expect(plan.stderr).toContain('${PR}');
    expect(plan.stderr).not.toContain('${RUN}');
  });

  it('refuses a value that could add structure or move a host, without echoing it', async () => {
    await writeFileIn('review.yaml', REVIEW);
    for (const value of [
      'x\n          - https://evil.example.com/callback\n  - key: injected',
      // A legal git branch name that would move the host to pr-x.attacker.example.
      'x.attacker.example/a',
      'postgres://gh:s3cret@db/gh',
    ]) {
      const plan = await cli(['plan', '-f', 'review.yaml'], { PR: value });
      expect(plan.code).toBe(1);
      expect(plan.stderr).toContain('${PR}');
      expect(plan.stderr).toContain('the value is not shown');
      expect(plan.stdout + plan.stderr).not.toContain('attacker');
      expect(plan.stdout + plan.stderr).not.toContain('s3cret');
      expect(plan.stdout + plan.stderr).not.toContain('evil');
      const apply = await cli(['apply', '-f', 'review.yaml'], { PR: value });
      expect(apply.code).toBe(1);
    }
    expect(await clientsIn('staging')).toEqual([]);
    expect(clientEntries(await auditEntries())).toEqual([]);
  });

  it('interpolates string values only: a variable cannot become a boolean', async () => {
    await writeFileIn(
      'review.yaml',
      REVIEW.replace('type: web', 'type: web\n    skipConsent: ${SKIP}'),
    );
    const plan = await cli(['plan', '-f', 'review.yaml'], { PR: '1', SKIP: 'true' });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain('"skipConsent" must be true or false');
  });
});

describe('gatehouse plan: a changed URI', () => {
  it('shows the registered and the file URI with a caret under the first difference', async () => {
    const file = (uri: string): string => `version: 1
clients:
  - key: shop
    name: Shop
    type: web
    environments:
      production:
        redirectUris:
          - ${uri}
`;
    await writeFileIn('clients.yaml', file('https://shop.example.com/oauth/calback'));
    expect((await cli(['apply', '-f', 'clients.yaml'])).code).toBe(0);
    // The typo is fixed in the file.
    await writeFileIn('clients.yaml', file('https://shop.example.com/oauth/callback'));
    const plan = await cli(['plan', '-f', 'clients.yaml']);
    expect(plan.code).toBe(3);
    const lines = plan.stdout.split('\n');
    const at = lines.findIndex((l) => l.trimStart().startsWith('registered '));
    expect(at).toBeGreaterThan(-1);
    const registered = lines[at] ?? '';
    const declared = lines[at + 1] ?? '';
    const caret = lines[at + 2] ?? '';
    expect(registered.trim()).toBe('registered  https://shop.example.com/oauth/calback');
    expect(declared.trim()).toBe('in file     https://shop.example.com/oauth/callback');

    // Both URIs start in the same column, so the first differing character is the same column.
    const start = registered.indexOf('https://');
    expect(declared.indexOf('https://')).toBe(start);
    let differs = start;
    while (registered[differs] === declared[differs]) differs++;
    expect(registered.slice(start, differs)).toBe('https://shop.example.com/oauth/cal');
    expect(caret.indexOf('^')).toBe(differs);
    expect(caret.slice(0, differs).trim()).toBe('');
    expect(caret).toContain(`first difference, character ${differs - start + 1}`);
    // The change itself is listed too.
    expect(plan.stdout).toContain('    + https://shop.example.com/oauth/callback');
    expect(plan.stdout).toContain('    - https://shop.example.com/oauth/calback');
  });

  // Regression: the index once came from the registered URI aligned to the pattern, so the caret
  // landed past the end of the "in file" line.
  it('puts the caret under the first difference when the file URI is a wildcard', async () => {
    const file = (uri: string): string => `version: 1
clients:
  - key: review
    name: Review
    type: web
    environments:
      staging:
        redirectUris:
          - ${uri}
`;
    await writeFileIn('clients.yaml', file('https://pr-1.review.example.com/callback'));
    expect((await cli(['apply', '-f', 'clients.yaml'])).code).toBe(0);
    await writeFileIn('clients.yaml', file('https://*.review.example.com/callbak'));
    const plan = await cli(['plan', '-f', 'clients.yaml']);
    const lines = plan.stdout.split('\n');
    const at = lines.findIndex((l) => l.trimStart().startsWith('registered '));
    const registered = lines[at] ?? '';
    const declared = lines[at + 1] ?? '';
    expect(registered.trim()).toBe('registered  https://pr-1.review.example.com/callback');
    expect(declared.trim()).toBe('in file     https://*.review.example.com/callbak');
    const start = registered.indexOf('https://');
    let differs = start;
    while (registered[differs] === declared[differs]) differs++;
    // The first difference is the `*`, character 9 of the URI.
    expect((lines[at + 2] ?? '').indexOf('^')).toBe(differs);
  });
});

describe('gatehouse plan: grant rules', () => {
  it('reports in plan what apply would refuse: a sign-in grant without redirect URIs', async () => {
    await writeFileIn(
      'grants.yaml',
      `version: 1
clients:
  - key: api
    name: API
    type: web
    grantTypes: [authorization_code]
    environments:
      staging:
        redirectUris: []
`,
    );
    const plan = await cli(['plan', '-f', 'grants.yaml']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('needs at least one redirect URI');
    expect((await cli(['apply', '-f', 'grants.yaml'])).code).toBe(1);
    expect(await clientsIn('staging')).toEqual([]);
  });
});

describe('gatehouse plan / apply: clients the file no longer covers', () => {
  it('notes a managed client whose environment the file dropped, and keeps it', async () => {
    const file = (environments: string): string => `version: 1
clients:
  - key: shop
    name: Shop
    type: web
    environments:
${environments}`;
    const staging = `      staging:
        redirectUris: [https://shop.staging.example.com/callback]
`;
    const production = `      production:
        redirectUris: [https://shop.example.com/callback]
`;
    await writeFileIn('shop.yaml', file(staging + production));
    expect((await cli(['apply', '-f', 'shop.yaml'])).code).toBe(0);
    await writeFileIn('shop.yaml', file(production));
    const plan = await cli(['plan', '-f', 'shop.yaml']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(
      /note: staging\/ghc_staging_\S+ is managed by "shop", which the file no longer declares in staging; it is kept/,
    );
    expect(await clientsIn('staging')).toHaveLength(1);
  });
});

describe('gatehouse plan / apply: temporary redirect URIs', () => {
  it('shows the expiry of expiresIn and keeps it when the file is applied again', async () => {
    await writeFileIn(
      'review.yaml',
      `version: 1
clients:
  - key: review
    name: Review
    type: web
    environments:
      staging:
        redirectUris:
          - https://review.staging.example.com/callback
          - uri: https://pr-7.review.example.com/callback
            expiresIn: 7d
          - uri: https://pr-8.review.example.com/callback
            expiresAt: "2099-01-02T03:04:05.000Z"
`,
    );
    const started = Date.now();
    const plan = await cli(['plan', '-f', 'review.yaml']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(
      /^ {4}\+ https:\/\/pr-7\.review\.example\.com\/callback {2}\(expires \d{4}-\d\d-\d\dT[\d:.]+Z\)$/m,
    );
    expect(plan.stdout).toContain(
      '+ https://pr-8.review.example.com/callback  (expires 2099-01-02T03:04:05.000Z)',
    );
    expect(plan.stdout).toMatch(/^ {4}\+ https:\/\/review\.staging\.example\.com\/callback$/m);

    expect((await cli(['apply', '-f', 'review.yaml'])).code).toBe(0);
    const first = only(await clientsIn('staging'));
    expect(Object.keys(first.redirect_uri_expiries).sort()).toEqual([
      'https://pr-7.review.example.com/callback',
      'https://pr-8.review.example.com/callback',
    ]);
    const expiry = first.redirect_uri_expiries['https://pr-7.review.example.com/callback'] ?? '';
    const week = 7 * 24 * 3600 * 1000;
    expect(Date.parse(expiry)).toBeGreaterThanOrEqual(started + week);
    expect(Date.parse(expiry)).toBeLessThanOrEqual(Date.now() + week);
    expect(first.redirect_uri_expiries['https://pr-8.review.example.com/callback']).toBe(
      '2099-01-02T03:04:05.000Z',
    );

    // Time passes; the relative expiry was set once and is not pushed back by re-applying.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const replan = await cli(['plan', '-f', 'review.yaml']);
    expect(replan.code).toBe(0);
    const again = await cli(['apply', '-f', 'review.yaml']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('in sync: nothing changed');
    expect(only(await clientsIn('staging')).redirect_uri_expiries).toEqual(
      first.redirect_uri_expiries,
    );
  });

  it('refuses an expiresAt in the past and an unparseable duration', async () => {
    await writeFileIn(
      'review.yaml',
      `version: 1
clients:
  - key: review
    name: Review
    type: web
    environments:
      staging:
        redirectUris:
          - uri: https://pr-1.review.example.com/callback
            expiresAt: "2001-01-01T00:00:00Z"
          - uri: https://pr-2.review.example.com/callback
            expiresIn: soon
`,
    );
    const plan = await cli(['plan', '-f', 'review.yaml', '--json']);
    expect(plan.code).toBe(1);
    expect((JSON.parse(plan.stdout) as PlanJson).problems.map((p) => [p.uri, p.code])).toEqual([
      ['https://pr-1.review.example.com/callback', 'expired'],
      ['https://pr-2.review.example.com/callback', 'invalid_duration'],
    ]);
    expect((await cli(['apply', '-f', 'review.yaml'])).code).toBe(1);
    expect(await clientsIn('staging')).toEqual([]);
  });
});

describe('gatehouse plan / apply: bad input', () => {
  it('exits 2 when the file cannot be read', async () => {
    const missing = await cli(['plan', '-f', 'missing.yaml']);
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr: 'gatehouse: error: cannot read missing.yaml: ENOENT\n',
    });
    await mkdir(join(workDir, 'a-directory'));
    const directory = await cli(['apply', '-f', 'a-directory']);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toBe('gatehouse: error: cannot read a-directory: EISDIR\n');
    if (process.getuid?.() !== 0) {
      await writeFileIn('secret.yaml', VALID);
      await chmod(join(workDir, 'secret.yaml'), 0o000);
      const unreadable = await cli(['apply', '-f', 'secret.yaml']);
      expect(unreadable.code).toBe(2);
      expect(unreadable.stderr).toBe('gatehouse: error: cannot read secret.yaml: EACCES\n');
    }
    expect(await clientsIn('production')).toEqual([]);
  });

  it('exits 2 with one line for a file that is not YAML', async () => {
    await writeFileIn('broken.yaml', 'version: 1\nclients:\n  - key: a\n   name: [unclosed\n');
    for (const command of ['plan', 'apply']) {
      const result = await cli([command, '-f', 'broken.yaml']);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^gatehouse: error: broken\.yaml is not valid YAML or JSON: .+\n$/,
      );
      expect(result.stderr.split('\n')).toHaveLength(2);
    }
  });

  it('exits 1 naming an unknown field', async () => {
    await writeFileIn(
      'typo.yaml',
      VALID.replace(
        '    type: native\n',
        '    type: native\n    redirectUri: com.example.mobile:/cb\n',
      ),
    );
    for (const command of ['plan', 'apply']) {
      const result = await cli([command, '-f', 'typo.yaml']);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'gatehouse: error: clients[1]: unknown field "redirectUri" (allowed: key, name, type, grantTypes, skipConsent, scopes, idTokenSignedResponseAlg, tokenEndpointAuthMethod, jwks, jwksUri, requirePar, pkceExemptWithNonce, requireDpop, environments)\n',
      );
    }
    await writeFileIn('typo.yaml', VALID.replace('redirectUris:', 'redirectURIs:'));
    const nested = await cli(['plan', '-f', 'typo.yaml']);
    expect(nested.code).toBe(1);
    expect(nested.stderr).toContain('unknown field "redirectURIs"');
    expect(nested.stderr).toContain('clients.shop.environments.staging');
    expect(await clientsIn('staging')).toEqual([]);
  });

  it('reports an unknown environment as a problem and applies nothing', async () => {
    await writeFileIn('clients.yaml', VALID.replace('      production:\n', '      prod:\n'));
    const plan = await cli(['plan', '-f', 'clients.yaml']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('refused: prod/shop: no environment "prod"');
    const apply = await cli(['apply', '-f', 'clients.yaml']);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toBe(
      'gatehouse: error: 1 problem(s), nothing applied; the first: prod/shop: no environment "prod"\n',
    );
    // The valid parts (staging/shop, production/mobile) were not applied either.
    expect(await clientsIn('staging')).toEqual([]);
    expect(await clientsIn('production')).toEqual([]);
    expect(clientEntries(await auditEntries())).toEqual([]);
  });

  it('refuses a key used twice and a wrong version', async () => {
    await writeFileIn('clients.yaml', VALID.replace('key: mobile', 'key: shop'));
    const twice = await cli(['plan', '-f', 'clients.yaml']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toBe('gatehouse: error: clients.shop: the key is used twice\n');
    await writeFileIn('clients.yaml', VALID.replace('version: 1', 'version: 2'));
    const version = await cli(['apply', '-f', 'clients.yaml']);
    expect(version.code).toBe(1);
    expect(version.stderr).toBe('gatehouse: error: file: "version" must be 1\n');
  });
});
