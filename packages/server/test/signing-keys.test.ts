/**
 * Signing keys at rest and over time: private keys sealed with the configured secret, rotation
 * with an overlap (published before signing), retirement once every token signed has expired,
 * and sign-in limits kept in the database.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGatehouse, resolveServerConfig } from '../src/index.js';
import { ConfigError } from '../src/config.js';
import { keyCipher, KeyDecryptionError } from '../src/crypto/key-encryption.js';
import { DatabaseAttemptLimiter } from '../src/services/shared-attempt-limiter.js';
import { announceChange, listenForChanges } from '../src/storage/change-feed.js';
import { runHousekeeping } from '../src/services/housekeeping.js';
import { listKeys, RETIRE_AFTER_MS, retireKeys, rotateKey } from '../src/services/keys.js';
import {
  DATABASES,
  throwawayPostgres,
  throwawaySqlite,
  type ThrowawayDatabase,
} from './support/databases.js';
import { startTestServer, TEST_SECRET_KEY, type TestServer } from './support/server.js';

describe('the secret that seals signing keys', () => {
  it('is required on PostgreSQL, and must be long enough', () => {
    expect(() =>
      resolveServerConfig({ databaseUrl: 'postgres://x@127.0.0.1/db' }, process.cwd()),
    ).toThrow(/PostgreSQL needs GATEHOUSE_SECRET_KEY/);
    expect(() =>
      resolveServerConfig(
        { databaseUrl: 'postgres://x@127.0.0.1/db', secretKey: 'short' },
        process.cwd(),
      ),
    ).toThrow(ConfigError);
    expect(() =>
      resolveServerConfig({ secretKeyFile: '/nonexistent/secret' }, process.cwd()),
    ).toThrow(/cannot be read/);
  });

  it('binds a sealed key to its kid and refuses the wrong secret', () => {
    const cipher = keyCipher(TEST_SECRET_KEY);
    const sealed = cipher.seal('{"d":"private"}', 'kid-a');
    expect(sealed.startsWith('enc:v1:')).toBe(true);
    expect(sealed).not.toContain('private');
    expect(cipher.open(sealed, 'kid-a')).toBe('{"d":"private"}');
    expect(() => cipher.open(sealed, 'kid-b')).toThrow(KeyDecryptionError);
    expect(() => keyCipher(`${TEST_SECRET_KEY}-other`).open(sealed, 'kid-a')).toThrow(
      KeyDecryptionError,
    );
  });

  it('on SQLite without a configured secret, makes a private secret file and seals the keys', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-keys-'));
    try {
      const config = resolveServerConfig({ dataDir }, process.cwd());
      const opened = await openGatehouse(config.database, config.secret);
      const { ensureDefaultEnvironments } = await import('../src/services/environments.js');
      await ensureDefaultEnvironments({ stores: opened.stores, clock: Date.now, actor: 'test' });
      const rows = await opened.handle.db
        .selectFrom('signing_keys')
        .select('private_jwk')
        .execute();
      // An ES256 and an RS256 key in each of the three environments.
      expect(rows.length).toBe(6);
      for (const row of rows) expect(row.private_jwk.startsWith('enc:v1:')).toBe(true);
      await opened.handle.close();
      const secret = join(dataDir, 'secret.key');
      expect((await stat(secret)).mode & 0o777).toBe(0o600);
      expect((await readFile(secret, 'utf8')).trim().length).toBeGreaterThanOrEqual(32);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('seals keys stored in clear before, and refuses to open sealed keys without the secret', async () => {
    const db = await throwawayPostgres();
    try {
      const url = db.target.kind === 'postgres' ? db.target.url : '';
      const { openDatabase } = await import('../src/storage/database.js');
      const { createStores } = await import('../src/storage/index.js');
      const { ensureDefaultEnvironments } = await import('../src/services/environments.js');
      // Keys written in clear, as before encryption existed.
      const plain = await openDatabase({ kind: 'postgres', url });
      await ensureDefaultEnvironments({ stores: createStores(plain), clock: Date.now, actor: 't' });
      expect(
        (await plain.db.selectFrom('signing_keys').select('private_jwk').execute())[0]?.private_jwk,
      ).toMatch(/^\{/);
      await plain.close();

      const config = resolveServerConfig({ databaseUrl: url, secretKey: TEST_SECRET_KEY }, '/');
      const opened = await openGatehouse(config.database, config.secret);
      const rows = await opened.handle.db
        .selectFrom('signing_keys')
        .select('private_jwk')
        .execute();
      for (const row of rows) expect(row.private_jwk.startsWith('enc:v1:')).toBe(true);
      expect((await opened.stores.keys.listPublished('development')).length).toBe(2);
      await opened.handle.close();

      const unsealed = await openDatabase({ kind: 'postgres', url });
      await expect(createStores(unsealed).keys.listPublished('development')).rejects.toThrow(
        /is encrypted: set GATEHOUSE_SECRET_KEY/,
      );
      await unsealed.close();
    } finally {
      await db.drop();
    }
  });
});

describe.each(DATABASES)('key rotation on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock: () => now });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const agentToken = async (client: { clientId: string; clientSecret?: string }) => {
    const reply = await t.tokenRequest({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret ?? '',
    });
    expect(reply.status).toBe(200);
    return reply.access_token;
  };
  const jwks = async () =>
    (
      (await (await fetch(`${t.issuer('development')}/jwks`)).json()) as { keys: { kid: string }[] }
    ).keys
      .map((k) => k.kid)
      .sort();
  const introspect = async (client: { clientId: string; clientSecret?: string }, token: string) =>
    (
      (await (
        await fetch(`${t.issuer('development')}/introspect`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            token,
            client_id: client.clientId,
            client_secret: client.clientSecret ?? '',
          }),
        })
      ).json()) as { active: boolean }
    ).active;

  it('publishes a new key before it signs, keeps the old one until its tokens expire, then retires it', async () => {
    const agent = await t.client({ type: 'web', name: 'Agent', redirectUris: [] });
    const originals = await listKeys(t.ctx, 'development');
    const original = originals.find((k) => k.alg === 'ES256');
    const originalRsa = originals.find((k) => k.alg === 'RS256');
    const before = await agentToken(agent);
    expect(decodeProtectedHeader(before).kid).toBe(original?.kid);

    const next = await rotateKey(t.ctx, 'development', 60_000);
    expect(next.role).toBe('next');
    expect(next.alg).toBe('ES256');
    // The RS256 key (ID tokens) is rotated with it, activating at the same time.
    const [nextRsa] = next.alongside;
    expect(nextRsa).toMatchObject({ alg: 'RS256', role: 'next', activatesAt: next.activatesAt });
    now += 1_500; // past the signer's one-second cache
    expect(await jwks()).toEqual([original?.kid, originalRsa?.kid, next.kid, nextRsa?.kid].sort());
    // Published, not yet signing.
    expect(decodeProtectedHeader(await agentToken(agent)).kid).toBe(original?.kid);
    await expect(rotateKey(t.ctx, 'development', 0)).rejects.toMatchObject({
      code: 'rotation_pending',
    });

    now += 60_000;
    const after = await agentToken(agent);
    expect(decodeProtectedHeader(after).kid).toBe(next.kid);
    // Tokens of the old key still verify while they can be valid.
    expect(await introspect(agent, before)).toBe(true);
    expect(await introspect(agent, after)).toBe(true);
    await expect(
      retireKeys(t.ctx, 'development', { kid: original?.kid ?? '' }),
    ).rejects.toMatchObject({ code: 'key_still_needed' });
    await expect(retireKeys(t.ctx, 'development', { kid: next.kid })).rejects.toMatchObject({
      code: 'key_in_use',
    });
    expect((await runHousekeeping(t.ctx)).keysRetired).toBe(0);

    // Once every token the old keys signed has expired, housekeeping retires both.
    now += RETIRE_AFTER_MS;
    expect((await runHousekeeping(t.ctx)).keysRetired).toBe(2);
    now += 1_500;
    expect(await jwks()).toEqual([next.kid, nextRsa?.kid].sort());
    const entries = await t.ctx.stores.audit.tail({ type: 'key.retired' });
    expect(entries.map((e) => e.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kid: original?.kid, alg: 'ES256', forced: false }),
        expect.objectContaining({ kid: originalRsa?.kid, alg: 'RS256', forced: false }),
      ]),
    );
  });

  it('retires a key at once with force, and its tokens stop verifying', async () => {
    const agent = await t.client({ type: 'web', name: 'Agent 2', redirectUris: [] });
    const old = await agentToken(agent);
    const rotated = await rotateKey(t.ctx, 'development', 0);
    now += 1_500;
    expect(decodeProtectedHeader(await agentToken(agent)).kid).toBe(rotated.kid);
    expect(await introspect(agent, old)).toBe(true);
    const [retired] = await retireKeys(t.ctx, 'development', {
      kid: decodeProtectedHeader(old).kid ?? '',
      force: true,
    });
    expect(retired?.role).toBe('retired');
    now += 1_500;
    expect(await introspect(agent, old)).toBe(false);
    // The RS256 key of the same generation went with it.
    const rsa = (await listKeys(t.ctx, 'development')).filter((k) => k.alg === 'RS256');
    expect(rsa.filter((k) => k.role !== 'retired').map((k) => k.kid)).toEqual([
      rotated.alongside[0]?.kid,
    ]);
  });
});

describe('RSA keys for environments from before RS256 ID tokens (migration 0013)', () => {
  it('are made at start-up, published, and sign from then on', async () => {
    const db = await throwawaySqlite();
    try {
      const first = await startTestServer(db);
      await first.close();
      // As an installation from before 0013: EC keys only.
      const dataDir =
        db.target.kind === 'sqlite' ? db.target.file.replace(/\/gatehouse\.sqlite$/, '') : '';
      const config = resolveServerConfig({ dataDir }, process.cwd());
      const opened = await openGatehouse(config.database, config.secret);
      await opened.handle.db.deleteFrom('signing_keys').where('alg', '=', 'RS256').execute();
      await opened.handle.close();

      const t = await startTestServer(db);
      try {
        for (const env of ['development', 'staging', 'production']) {
          const keys = await listKeys(t.ctx, env);
          expect(keys.map((k) => [k.alg, k.role]).sort()).toEqual([
            ['ES256', 'signing'],
            ['RS256', 'signing'],
          ]);
          const jwks = (await (await fetch(`${t.issuer(env)}/jwks`)).json()) as {
            keys: { kty: string; alg: string }[];
          };
          expect(jwks.keys.map((k) => `${k.kty} ${k.alg}`).sort()).toEqual([
            'EC ES256',
            'RSA RS256',
          ]);
        }
        // A second start adds nothing.
        await t.close();
        const again = await startTestServer(db);
        expect(await listKeys(again.ctx, 'development')).toHaveLength(2);
        await again.close();
      } finally {
        await t.close().catch(() => undefined);
      }
    } finally {
      await db.drop();
    }
  });
});

describe('sign-in limits in the database', () => {
  it('count the same attempts whichever limiter (process) sees them', async () => {
    const db = await throwawayPostgres();
    try {
      const config = resolveServerConfig(
        {
          databaseUrl: db.target.kind === 'postgres' ? db.target.url : '',
          secretKey: TEST_SECRET_KEY,
        },
        '/',
      );
      const a = await openGatehouse(config.database, config.secret);
      const b = await openGatehouse(config.database, config.secret);
      const limitA = new DatabaseAttemptLimiter(a.stores.attempts, 5, 60_000);
      const limitB = new DatabaseAttemptLimiter(b.stores.attempts, 5, 60_000);
      const now = Date.now();
      for (let i = 0; i < 5; i++) await (i % 2 === 0 ? limitA : limitB).fail('acct', now + i);
      expect(await limitA.retryAfter('acct', now + 10)).toBeGreaterThan(0);
      expect(await limitB.retryAfter('acct', now + 10)).toBeGreaterThan(0);
      expect(await limitB.retryAfter('other', now + 10)).toBe(0);
      expect(await limitA.retryAfter('acct', now + 60_001)).toBe(0);
      await limitB.reset('acct');
      expect(await limitA.retryAfter('acct', now + 10)).toBe(0);
      await a.handle.close();
      await b.handle.close();
    } finally {
      await db.drop();
    }
  });
});

describe('key changes announced across processes (PostgreSQL LISTEN/NOTIFY)', () => {
  it('delivers an announcement to a listening process', async () => {
    const db = await throwawayPostgres();
    const url = db.target.kind === 'postgres' ? db.target.url : '';
    const feed = listenForChanges(url);
    try {
      await expect.poll(() => feed.live).toBe(true);
      const heard = new Promise<string>((resolve) => {
        feed.onChange((topic) => {
          if (topic !== '*') resolve(topic);
        });
      });
      const { openDatabase } = await import('../src/storage/database.js');
      const other = await openDatabase({ kind: 'postgres', url });
      await announceChange(other.db, 'postgres', 'keys:production');
      await other.close();
      expect(await heard).toBe('keys:production');
    } finally {
      await feed.close();
      await db.drop();
    }
  });

  it('makes a server publish a key rotated by another process, though its clock stands still', async () => {
    const db = await throwawayPostgres();
    // A clock that never moves: only the announcement can refresh the server's key cache.
    const frozen = Date.now();
    const t = await startTestServer(db, { clock: () => frozen });
    try {
      const kids = async () =>
        (
          (await (await fetch(`${t.issuer('staging')}/jwks`)).json()) as { keys: { kid: string }[] }
        ).keys.map((k) => k.kid);
      await expect.poll(() => t.server.app.server.listening).toBe(true);
      const before = await kids();
      expect(before).toHaveLength(2);
      const config = resolveServerConfig(
        {
          databaseUrl: db.target.kind === 'postgres' ? db.target.url : '',
          secretKey: TEST_SECRET_KEY,
        },
        '/',
      );
      const other = await openGatehouse(config.database, config.secret);
      const rotated = await rotateKey(
        { stores: other.stores, clock: () => frozen, actor: 'admin:test' },
        'staging',
        60_000,
      );
      await other.handle.close();
      await expect.poll(kids, { timeout: 1_000 }).toContain(rotated.kid);
    } finally {
      await t.close();
      await db.drop();
    }
  });
});
