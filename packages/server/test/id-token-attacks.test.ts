/**
 * Review of issue #16 parts 1 and 2 (RS256 keys beside ES256, ID token claims, email_verified and
 * `users import`), by attack against a running server:
 * - an imported argon2 hash carries its own cost, and verifying it is what every sign-in attempt
 *   for that email does: a hash above the limits is refused at import and never verified;
 * - algorithm confusion with the RSA key (HS256 keyed with the public key, ES256 or none named on
 *   its kid, an ID token or a foreign RSA key's token offered as an access token) is refused;
 * - the JWKS publishes no private member and each key with its alg, use and kid;
 * - the RSA private key is sealed at rest like the EC one, and never logged;
 * - acr_values cannot put anything but a class Gatehouse reports into an ID token.
 */
import { createHmac, generateKeyPairSync, sign as signBytes } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARGON2_LIMITS, verifyPassword } from '../src/crypto/passwords.js';
import { createEnvironment } from '../src/services/environments.js';
import { runHousekeeping } from '../src/services/housekeeping.js';
import { ensureKeysOfEveryAlg, listKeys, rotateKey } from '../src/services/keys.js';
import { registerResource } from '../src/services/resources.js';
import { importUsers, parseUserImport } from '../src/services/user-import.js';
import { operatorSession } from './support/admin.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const REDIRECT = 'https://app.example.com/callback';
const PASSWORD = 'correct horse battery staple';
const SALT = 'c2FsdHNhbHRzYWx0c2FsdA';
const TAG = 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const phc = (m: number, t: number, p: number, salt = SALT, tag = TAG) =>
  `$argon2id$v=19$m=${m},t=${t},p=${p}$${salt}$${tag}`;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface Jwk {
  kid: string;
  kty: string;
  alg: string;
  use?: string;
  crv?: string;
  n?: string;
  e?: string;
  [member: string]: unknown;
}

describe('ID tokens, keys and users import under attack', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  const log: string[] = [];
  let web: { clientId: string; clientSecret?: string };
  let userId: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, { logStream: { write: (line) => void log.push(line) } });
    web = await t.client({
      type: 'web',
      name: 'RP',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      skipConsent: true,
    });
    userId = await t.user('r2@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const jwks = async (): Promise<Jwk[]> =>
    ((await (await fetch(`${t.issuer('development')}/jwks`)).json()) as { keys: Jwk[] }).keys;

  const signIn = async (email: string, password: string, extra: Record<string, string> = {}) => {
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        response_type: 'code',
        client_id: web.clientId,
        redirect_uri: REDIRECT,
        scope: 'openid email',
        state: 's',
        nonce: 'n',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      },
      email,
      password,
    );
    const reply = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      client_id: web.clientId,
      client_secret: web.clientSecret ?? '',
    });
    expect(reply.status).toBe(200);
    return reply;
  };

  const userinfoStatus = async (token: string) =>
    (
      await fetch(`${t.issuer('development')}/userinfo`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;
  const introspected = async (token: string) =>
    (
      (await (
        await fetch(`${t.issuer('development')}/introspect`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            token,
            client_id: web.clientId,
            client_secret: web.clientSecret ?? '',
          }),
        })
      ).json()) as { active: boolean }
    ).active;

  describe('argon2 hashes from an import', () => {
    it('refuses a hash whose cost would stall every sign-in attempt, writing nothing', async () => {
      const before = await t.ctx.stores.users.count('development');
      for (const heavy of [
        phc(9_999_999, 1, 1), // ~10 GiB a verification
        phc(19_456, 999, 1), // 999 passes
        phc(65_536, 10, 1), // each within its cap, but together 10 x 64 MiB
        phc(19_456, 2, 255), // 255 lanes
        phc(19_456, 2, 1, SALT, 'A'.repeat(100_000)), // a 75 KB tag
        phc(1, 1, 1), // below argon2's own minimum: never verifiable
      ]) {
        const users = parseUserImport(
          JSON.stringify([{ email: `heavy-${heavy.length}@example.com`, password_hash: heavy }]),
        );
        await expect(importUsers(t.ctx, 'development', users)).rejects.toThrow(/password_hash/);
      }
      expect(await t.ctx.stores.users.count('development')).toBe(before);
      // Common libraries' defaults still import (PHP: 64 MiB, t=4; argon2-cffi: 64 MiB, t=3, p=4).
      const result = await importUsers(
        t.ctx,
        'development',
        parseUserImport(
          [
            JSON.stringify({ email: 'php@example.com', password_hash: phc(65_536, 4, 1) }),
            JSON.stringify({ email: 'cffi@example.com', password_hash: phc(65_536, 3, 4) }),
          ].join('\n'),
        ),
      );
      expect(result.created).toBe(2);
    });

    it('refuses malformed lines and emails differing only in case, naming them; never audits a hash', async () => {
      const before = await t.ctx.stores.users.count('development');
      expect(() =>
        parseUserImport('{"email":"ok1@example.com"}\n\n{"email":"ok2@example.com"\n'),
      ).toThrow(/line 3: not a JSON object/);
      expect(() => parseUserImport('[{"email":"a@example.com","__proto__":{"x":1}}]')).toThrow(
        /unknown field "__proto__"/,
      );
      const twins = parseUserImport(
        '{"email":"Twin@Example.com"}\n{"email":"twin@example.COM","email_verified":true}',
      );
      await expect(importUsers(t.ctx, 'development', twins)).rejects.toThrow(/is also user 1/);
      expect(await t.ctx.stores.users.count('development')).toBe(before);
      // Re-imported in another case, an existing user is the same user: only email_verified moves.
      const hashed = phc(19_456, 2, 1);
      await importUsers(
        t.ctx,
        'development',
        parseUserImport(JSON.stringify([{ email: 'casey@example.com', password_hash: hashed }])),
      );
      const again = await importUsers(
        t.ctx,
        'development',
        parseUserImport(JSON.stringify([{ email: 'CASEY@example.com', email_verified: true }])),
      );
      expect(again).toEqual({ created: 0, updated: 1, unchanged: 0 });
      const audit = JSON.stringify(
        await t.ctx.stores.audit.tail({ environment: 'development', limit: 1000 }),
      );
      expect(audit).toContain('casey@example.com');
      expect(audit).not.toContain(TAG);
    });

    it('never verifies a stored hash above the limits: the sign-in fails without computing it', async () => {
      // Above the memory cap (128 MiB), yet cheap enough to make here: the right password.
      const memoryCost = ARGON2_LIMITS.maxMemoryKiB * 2;
      const heavy = await hash(PASSWORD, { memoryCost, timeCost: 1, parallelism: 1 });
      expect(heavy).toContain(`m=${memoryCost},`);
      expect(await verifyPassword(heavy, PASSWORD)).toBe(false);
      // Stored by an older import (or by hand): the server refuses to run it at sign-in.
      const now = Date.now();
      await t.ctx.stores.users.create({
        id: 'heavy-user',
        environment: 'development',
        email: 'heavy@example.com',
        name: null,
        passwordHash: heavy,
        disabled: false,
        emailVerified: false,
        createdAt: now,
        updatedAt: now,
      });
      await expect(signIn('heavy@example.com', PASSWORD)).rejects.toThrow(/401/);
      // Gatehouse's own hashes verify as before.
      expect(
        await verifyPassword(
          (await t.ctx.stores.users.get('development', userId))?.passwordHash ?? '',
          PASSWORD,
        ),
      ).toBe(true);
    });
  });

  describe('algorithm confusion with the RSA key', () => {
    it('refuses access tokens forged from the RSA public key, another key, or an ID token', async () => {
      const keys = await jwks();
      const rsa = keys.find((k) => k.alg === 'RS256');
      const ec = keys.find((k) => k.alg === 'ES256');
      if (rsa === undefined || ec === undefined) throw new Error('the JWKS lacks a key');
      const issuer = t.issuer('development');
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: issuer,
        sub: userId,
        aud: issuer,
        client_id: web.clientId,
        scope: 'openid email',
        iat: now,
        exp: now + 300,
        jti: 'forged',
      };
      const forged: string[] = [];
      // HS256 with the published RSA key as the HMAC secret, in each form a library might use.
      const { createPublicKey } = await import('node:crypto');
      const publicKey = createPublicKey({ key: rsa, format: 'jwk' });
      const secrets = [
        publicKey.export({ format: 'pem', type: 'spki' }),
        publicKey.export({ format: 'pem', type: 'pkcs1' }),
        JSON.stringify(rsa),
        Buffer.from(rsa.n ?? '', 'base64url'),
      ];
      for (const secret of secrets) {
        const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: rsa.kid })}.${b64(claims)}`;
        forged.push(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`);
      }
      // Unsigned, on either kid.
      for (const kid of [rsa.kid, ec.kid])
        forged.push(`${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims)}.`);
      // The attacker's own keys under Gatehouse's kids: RS256, PS256 and ES256 on the RSA kid.
      const attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      for (const [alg, kid] of [
        ['RS256', rsa.kid],
        ['PS256', rsa.kid],
        ['ES256', rsa.kid],
        ['RS256', ec.kid],
      ] as const) {
        const input = `${b64({ alg, typ: 'at+jwt', kid })}.${b64(claims)}`;
        const signature =
          alg === 'ES256'
            ? signBytes('sha256', Buffer.from(input), {
                key: attackerEc.privateKey,
                dsaEncoding: 'ieee-p1363',
              })
            : alg === 'PS256'
              ? signBytes('sha256', Buffer.from(input), {
                  key: attackerRsa.privateKey,
                  padding: (await import('node:crypto')).constants.RSA_PKCS1_PSS_PADDING,
                })
              : signBytes('sha256', Buffer.from(input), attackerRsa.privateKey);
        forged.push(`${input}.${signature.toString('base64url')}`);
      }
      // A genuine RS256 ID token is no access token (RFC 9068 §4: typ), nor with its header
      // re-labelled at+jwt (the signature covers the header).
      const tokens = await signIn('r2@example.com', PASSWORD);
      const idToken = tokens.id_token ?? '';
      forged.push(idToken);
      const [, payload = '', signature = ''] = idToken.split('.');
      forged.push(`${b64({ alg: 'RS256', typ: 'at+jwt', kid: rsa.kid })}.${payload}.${signature}`);

      for (const token of forged) {
        expect(await userinfoStatus(token)).toBe(401);
        expect(await introspected(token)).toBe(false);
      }
      // The genuine access token works: the refusals are about the tokens, not the endpoints.
      expect(await userinfoStatus(tokens.access_token)).toBe(200);
    });

    it('keeps a resource’s RS256 access tokens for that resource only', async () => {
      await registerResource(t.ctx, 'development', {
        uri: 'https://rsa-api.example.com',
        name: 'RSA API',
        scopes: ['read'],
        accessTokenAlg: 'RS256',
      });
      const agent = await t.client({
        type: 'web',
        name: 'Agent',
        redirectUris: [],
        grantTypes: ['client_credentials'],
      });
      const reply = await t.tokenRequest({
        grant_type: 'client_credentials',
        client_id: agent.clientId,
        client_secret: agent.clientSecret ?? '',
        resource: 'https://rsa-api.example.com',
        scope: 'read',
      });
      expect(reply.status).toBe(200);
      // Genuine and RS256, but for another audience: userinfo refuses it.
      expect(await userinfoStatus(reply.access_token)).toBe(401);
    });
  });

  it('publishes each key with its alg, use and kid, and nothing private', async () => {
    const keys = await jwks();
    expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);
    expect(new Set(keys.map((k) => k.alg))).toEqual(new Set(['ES256', 'RS256']));
    for (const key of keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'])
        expect(key).not.toHaveProperty(member);
      expect(key.use).toBe('sig');
      expect(key.kid).toMatch(/^[A-Za-z0-9_-]{12,}$/);
      if (key.alg === 'RS256') {
        expect(key.kty).toBe('RSA');
        expect(Buffer.from(key.n ?? '', 'base64url').length).toBe(256);
        expect(key.e).toBe('AQAB');
      } else {
        expect(key).toMatchObject({ kty: 'EC', crv: 'P-256' });
      }
    }
  });

  it('seals the RSA private key at rest, also one made at start-up for an environment from before 0013, and never logs it', async () => {
    // An environment from before RS256 keys: its RS256 key is retired away, then start-up's
    // ensureKeysOfEveryAlg makes a new one.
    const old = (await t.ctx.stores.keys.listAll('staging')).filter((k) => k.alg === 'RS256');
    for (const key of old) await t.ctx.stores.keys.retire('staging', key.kid, Date.now());
    const added = await ensureKeysOfEveryAlg(t.ctx);
    expect(added).toHaveLength(1);
    const { default: Database } = await import('better-sqlite3');
    if (db.target.kind !== 'sqlite') throw new Error('a SQLite test');
    const file = new Database(db.target.file, { readonly: true });
    try {
      const rows = file
        .prepare("SELECT kid, alg, private_jwk FROM signing_keys WHERE status != 'retired'")
        .all() as { kid: string; alg: string; private_jwk: string }[];
      expect(rows.filter((r) => r.alg === 'RS256').map((r) => r.kid)).toContain(added[0]);
      for (const row of rows) {
        expect(row.private_jwk.startsWith('enc:v1:')).toBe(true);
        expect(row.private_jwk).not.toContain('"d"');
      }
    } finally {
      file.close();
    }
    // After tokens were signed with it, no log line holds any private member of any key.
    await signIn('r2@example.com', PASSWORD);
    const secrets: string[] = [];
    for (const env of ['development', 'staging']) {
      for (const key of await t.ctx.stores.keys.listPublished(env)) {
        const jwk = JSON.parse(key.privateJwk) as Record<string, string>;
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
          if (jwk[member] !== undefined) secrets.push(jwk[member].slice(0, 24));
      }
    }
    expect(secrets.length).toBeGreaterThan(0);
    const text = log.join('\n');
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('keeps a process of the version before RS256 keys signing with its EC key during a rolling upgrade', async () => {
    // An environment from before 0013 (its RSA key retired away: only EC keys are live), then a
    // new process starts a minute later and gives it an RSA key.
    await createEnvironment(t.ctx, 'legacy', 'production');
    for (const key of await t.ctx.stores.keys.listAll('legacy'))
      if (key.alg === 'RS256') await t.ctx.stores.keys.retire('legacy', key.kid, Date.now());
    const later = Date.now() + 60_000;
    const added = await ensureKeysOfEveryAlg({ ...t.ctx, clock: () => later });
    expect(added).toHaveLength(1);
    // The old Signer (before 49028c5) signs, as ES256, with the newest active key whose time has
    // come, of whatever algorithm: it must still be the EC key.
    const oldChoice = (await t.ctx.stores.keys.listPublished('legacy'))
      .filter((k) => k.status === 'active')
      .map((k) => ({ alg: k.alg, from: k.activatesAt ?? k.createdAt }))
      .sort((a, b) => b.from - a.from)
      .find((k) => k.from <= later);
    expect(oldChoice?.alg).toBe('ES256');
    // This version signs with both at once.
    const roles = await listKeys({ ...t.ctx, clock: () => later }, 'legacy');
    expect(roles.map((k) => `${k.alg} ${k.role}`).sort()).toEqual([
      'ES256 signing',
      'RS256 retired',
      'RS256 signing',
    ]);
  });

  it('gives an RSA key that signs now to an environment from before 0013 rotated before the new server started', async () => {
    await createEnvironment(t.ctx, 'rotated-early', 'staging');
    for (const key of await t.ctx.stores.keys.listAll('rotated-early'))
      if (key.alg === 'RS256') await t.ctx.stores.keys.retire('rotated-early', key.kid, Date.now());
    // `gatehouse keys rotate` from the upgraded CLI: an ES256 and an RS256 key, both signing later.
    await rotateKey(t.ctx, 'rotated-early', 3_600_000);
    const rsaRoles = async () =>
      (await listKeys(t.ctx, 'rotated-early'))
        .filter((k) => k.alg === 'RS256')
        .map((k) => k.role)
        .sort();
    expect(await rsaRoles()).toEqual(['next', 'retired']);
    // The server's start (or housekeeping): an RS256 key signs from now until the next one does.
    expect(await ensureKeysOfEveryAlg(t.ctx)).toHaveLength(1);
    expect(await rsaRoles()).toEqual(['next', 'retired', 'signing']);
    expect(await ensureKeysOfEveryAlg(t.ctx)).toHaveLength(0);
  });

  it('gives an environment left without its RSA key one at the next housekeeping, not the next restart', async () => {
    // Made by a process of the version before RS256 keys, or a creation cut short between its
    // two keys: ES256 only. Every process's /readyz is 503 while it lasts.
    await createEnvironment(t.ctx, 'halfmade', 'staging');
    for (const key of await t.ctx.stores.keys.listAll('halfmade'))
      if (key.alg === 'RS256') await t.ctx.stores.keys.retire('halfmade', key.kid, Date.now());
    const ready = async () => (await fetch(`${t.url}/readyz`)).status;
    expect(await ready()).toBe(503);
    const result = await runHousekeeping(t.ctx);
    expect(result.keysAdded).toBe(1);
    // Each process reloads an environment's keys within a second (tokens/signer.ts).
    let status = await ready();
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await ready();
    }
    expect(status).toBe(200);
    expect((await runHousekeeping(t.ctx)).keysAdded).toBe(0);
  });

  it('never lets an impersonation look like a password sign-in: amr, acr and no sid, after refresh too', async () => {
    const { session: admin } = await operatorSession(t, 'r2-admin@ops.example', 'admin');
    expect(
      (await admin.call('PATCH', '/environments/staging', { impersonationEnabled: true })).status,
    ).toBe(200);
    const app = await t.client({
      environment: 'staging',
      type: 'web',
      name: 'Support App',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      skipConsent: true,
    });
    const dana = await t.user('dana@example.com', PASSWORD, 'staging');
    const browser = new FormBrowser(t.url);
    const { session } = await operatorSession(t, 'r2-helper@ops.example', 'support', browser.jar);
    const started = await session.call('POST', '/environments/staging/impersonations', {
      userId: dana,
      clientId: app.clientId,
      reason: 'ticket 1: R2 review',
    });
    expect(started.status).toBe(201);
    const { verifier, challenge } = pkce();
    // Asks for the password class, as an RP that wants a real sign-in would.
    const location = await browser.authorize(
      {
        response_type: 'code',
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        scope: 'openid email offline_access',
        state: 's',
        nonce: 'n',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        acr_values: 'urn:gatehouse:acr:password',
        prompt: 'login',
      },
      'unused@example.com',
      'unused password',
      'staging',
    );
    const form = {
      client_id: app.clientId,
      client_secret: app.clientSecret ?? '',
    };
    const tokens = await t.tokenRequest(
      {
        ...form,
        grant_type: 'authorization_code',
        code: new URL(location).searchParams.get('code') ?? '',
        code_verifier: verifier,
        redirect_uri: REDIRECT,
      },
      'staging',
    );
    expect(tokens.status).toBe(200);
    const refreshed = await t.tokenRequest(
      { ...form, grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' },
      'staging',
    );
    expect(refreshed.status).toBe(200);
    for (const idToken of [tokens.id_token, refreshed.id_token]) {
      const claims = decodeJwt(idToken ?? '');
      expect(claims).toMatchObject({
        sub: dana,
        amr: ['impersonation'],
        acr: 'urn:gatehouse:acr:impersonation',
        act: { email: 'r2-helper@ops.example' },
      });
      expect(claims).not.toHaveProperty('sid');
    }
  });

  it('answers acr_values, however many and whatever they say, with a class Gatehouse reports', async () => {
    const asked = [
      'urn:gatehouse:acr:impersonation',
      '"},"acr":"urn:example:mfa',
      'urn:example:mfa',
      ...Array.from({ length: 200 }, (_, i) => `urn:example:${i}`),
    ].join(' ');
    const tokens = await signIn('r2@example.com', PASSWORD, { acr_values: asked });
    const claims = decodeJwt(tokens.id_token ?? '');
    expect(claims.acr).toBe('urn:gatehouse:acr:password');
    expect(claims.amr).toEqual(['pwd']);
  });
});
