/**
 * Client secrets are stored as a keyed hash (HMAC-SHA-256 under a key derived from
 * GATEHOUSE_SECRET_KEY): fast, since the secrets are random, and useless to whoever holds only a
 * copy of the database. Plain SHA-256 hashes from before keep working until the secret rotates.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSecretHasher } from '../src/crypto/client-secret-hash.js';
import { VerifiedSecrets } from '../src/http/verified-secrets.js';
import { rotateClientSecret } from '../src/services/clients.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const SERVER_SECRET = 'a-server-secret-of-enough-length-0123456789';
const plainSha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

describe('clientSecretHasher', () => {
  const hasher = clientSecretHasher(SERVER_SECRET);

  it('matches the secret it hashed and nothing else, for any secrets', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (secret, other) => {
        const stored = hasher.hash(secret);
        expect(stored.startsWith('hmac-sha256:v1:')).toBe(true);
        expect(stored).not.toContain(plainSha256(secret));
        expect(hasher.matches(secret, stored)).toBe(true);
        expect(hasher.matches(other, stored)).toBe(other === secret);
      }),
    );
  });

  it('depends on the server secret: another deployment, or none, cannot confirm a secret', () => {
    const stored = hasher.hash('ghs_development_secret');
    expect(clientSecretHasher(`${SERVER_SECRET}x`).matches('ghs_development_secret', stored)).toBe(
      false,
    );
    expect(clientSecretHasher(undefined).matches('ghs_development_secret', stored)).toBe(false);
  });

  it('still accepts a plain SHA-256 hash stored before, and only for its secret', () => {
    const legacy = plainSha256('ghs_development_old');
    expect(hasher.matches('ghs_development_old', legacy)).toBe(true);
    expect(hasher.matches('ghs_development_other', legacy)).toBe(false);
  });
});

describe.each(DATABASES)('client secrets at rest on $kind', ({ create }) => {
  let database: ThrowawayDatabase;
  let test: TestServer;

  beforeAll(async () => {
    database = await create();
    test = await startTestServer(database);
  });
  afterAll(async () => {
    await test.close();
    await database.drop();
  });

  const clientCredentials = (clientId: string, secret: string) =>
    fetch(`${test.issuer('development')}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });

  it('are stored keyed, authenticate, and a stored plain hash keeps working until rotation', async () => {
    const { clientId, clientSecret } = await test.client({
      type: 'web',
      name: 'Machine',
      redirectUris: [],
      grantTypes: ['client_credentials'],
    });
    if (clientSecret === undefined) throw new Error('a web client has a secret');
    const stored = (await test.ctx.stores.clients.get('development', clientId))?.secretHash;
    expect(stored?.startsWith('hmac-sha256:v1:')).toBe(true);
    expect(stored).not.toBe(plainSha256(clientSecret));
    expect((await clientCredentials(clientId, clientSecret)).status).toBe(200);
    // Another last character (a secret that happens to end in 'A' must not be sent unchanged).
    const last = clientSecret.endsWith('A') ? 'B' : 'A';
    const wrong = await clientCredentials(clientId, `${clientSecret.slice(0, -1)}${last}`);
    expect(wrong.status).toBe(401);

    // A row written before keyed hashes: the plain hash of its secret.
    await test.ctx.stores.clients.update(
      'development',
      clientId,
      { secretHash: plainSha256(clientSecret) },
      Date.now(),
    );
    expect((await clientCredentials(clientId, clientSecret)).status).toBe(200);
    const rotated = await rotateClientSecret(test.ctx, 'development', clientId);
    const after = (await test.ctx.stores.clients.get('development', clientId))?.secretHash;
    expect(after?.startsWith('hmac-sha256:v1:')).toBe(true);
    expect((await clientCredentials(clientId, rotated.clientSecret)).status).toBe(200);
    expect((await clientCredentials(clientId, clientSecret)).status).toBe(401);
  });
});

describe('VerifiedSecrets', () => {
  const hasher = clientSecretHasher(SERVER_SECRET);
  const secret = 'ghs_development_secret';
  const stored = hasher.hash(secret);

  it('remembers only a secret that matched, and only for the hash, client and environment it matched', () => {
    const verified = new VerifiedSecrets(hasher);
    let checks = 0;
    const check = () => {
      checks++;
      return true;
    };
    expect(verified.matches('development', 'c1', 'wrong', stored, check)).toBe(false);
    expect(verified.matches('development', 'c1', secret, stored, check)).toBe(true);
    expect(checks).toBe(2);
    // Remembered: the checks do not run again for the same secret, client and stored hash.
    expect(verified.matches('development', 'c1', secret, stored, check)).toBe(true);
    expect(checks).toBe(2);
    // Anything else is checked in full, and a wrong secret stays wrong.
    expect(verified.matches('development', 'c1', 'wrong', stored, check)).toBe(false);
    expect(verified.matches('development', 'c2', secret, stored, check)).toBe(true);
    expect(verified.matches('staging', 'c1', secret, stored, check)).toBe(true);
    expect(checks).toBe(5);
    // A rotated secret (a new stored hash): the old one no longer matches.
    const rotated = hasher.hash('ghs_development_rotated');
    expect(verified.matches('development', 'c1', secret, rotated, check)).toBe(false);
    // A failed format check is never remembered.
    const refusing = new VerifiedSecrets(hasher);
    expect(refusing.matches('development', 'c1', secret, stored, () => false)).toBe(false);
    expect(refusing.matches('development', 'c1', secret, stored, () => false)).toBe(false);
  });
});
