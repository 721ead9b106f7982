/**
 * DPoP at the resource (RFC 9449 §7): tokens bound to a key (`cnf.jkt`) are accepted only with
 * the DPoP scheme and a valid proof of that key for this request. Each test performs one attack
 * (or one client mistake) with proofs signed by jose keys, against tokens from an issuer of our
 * own, and checks the refusal: status, error code, fixed description, the `DPoP` challenge.
 */
import { generateSecret, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createResourceServer,
  MemoryReplayCache,
  type AuthOutcome,
  type BearerRequest,
  type ResourceServer,
  type ResourceServerOptions,
} from '../src/index.js';
import { parseChallenges } from './support/challenge-parser.js';
import { makeProof, proofKey, unsignedProof, type ProofKey } from './support/dpop-proofs.js';
import { KeyServer, type SigningKey } from './support/key-server.js';

const RESOURCE = 'https://mcp.example.test/mcp';
const HTU = RESOURCE;
const ALGS = 'ES256 ES384 EdDSA Ed25519 RS256 PS256';

function refusal(outcome: AuthOutcome) {
  if (outcome.ok) throw new Error('expected a refusal');
  const { failure } = outcome;
  const challenges = parseChallenges(failure.headers['www-authenticate'] ?? '');
  return {
    status: failure.status,
    error: failure.error,
    description: failure.description,
    schemes: challenges.map((c) => c.scheme),
    params: Object.fromEntries(challenges[0]?.params ?? []),
    nonce: failure.headers['dpop-nonce'],
  };
}

describe('DPoP-bound access tokens', () => {
  let issuer: KeyServer;
  let signing: SigningKey;
  let key: ProofKey;
  let otherKey: ProofKey;
  let rs: ResourceServer;
  let bound: string;
  let unbound: string;

  const server = (options: Partial<ResourceServerOptions> = {}) =>
    createResourceServer({
      resource: RESOURCE,
      issuer: issuer.issuer,
      jwksUri: issuer.jwksUri,
      ...options,
    });
  const boundToken = (jkt: string, extra: Record<string, unknown> = {}) =>
    KeyServer.sign(signing, issuer.claims(RESOURCE, { cnf: { jkt }, ...extra }));
  /** A request as an adapter passes it: POST /mcp. */
  const dpopRequest = (token: string, proofs: string[], more: Partial<BearerRequest> = {}) => ({
    authorization: [`DPoP ${token}`],
    dpop: proofs,
    method: 'POST',
    url: '/mcp',
    ...more,
  });
  const proofFor = (token: string, parts: Partial<Parameters<typeof makeProof>[1]> = {}) =>
    makeProof(key, { htm: 'POST', htu: HTU, accessToken: token, ...parts });

  beforeAll(async () => {
    issuer = await KeyServer.start();
    signing = await issuer.addKey();
    key = await proofKey();
    otherKey = await proofKey();
    rs = server();
    bound = await boundToken(key.jkt);
    unbound = await KeyServer.sign(signing, issuer.claims(RESOURCE));
  });
  afterAll(async () => {
    await issuer.close();
  });

  it('accepts a bound token with a proof of its key; auth.extra.dpopJkt names the key', async () => {
    const outcome = await rs.authenticate(dpopRequest(bound, [await proofFor(bound)]));
    if (!outcome.ok) throw new Error(outcome.failure.description);
    expect(outcome.auth.extra?.dpopJkt).toBe(key.jkt);
    expect(outcome.auth.token).toBe(bound);
    expect(outcome.headers).toStrictEqual({});
    // The scheme is case-insensitive (RFC 9110 §11.1); the query is not part of htu (§4.3).
    const again = await rs.authenticate({
      ...dpopRequest(bound, [await proofFor(bound)], { url: '/mcp?page=2' }),
      authorization: [`dpop ${bound}`],
    });
    expect(again.ok).toBe(true);
    // An unbound bearer token is taken as today, and says it is not bound.
    const plain = await rs.authenticate({ authorization: [`Bearer ${unbound}`] });
    expect(plain.ok && plain.auth.extra?.dpopJkt).toBeUndefined();
    expect(plain.ok).toBe(true);
  });

  it('takes each algorithm of the default list: EdDSA, RS256, PS256, ES384', async () => {
    for (const alg of ['EdDSA', 'RS256', 'PS256', 'ES384']) {
      const other = await proofKey(alg);
      const token = await boundToken(other.jkt);
      const proof = await makeProof(other, { htm: 'POST', htu: HTU, accessToken: token });
      expect((await rs.authenticate(dpopRequest(token, [proof]))).ok, alg).toBe(true);
    }
  });

  it('refuses a bound token sent as Bearer (RFC 9449 §7.2), with a DPoP challenge', async () => {
    for (const proofs of [[], [await proofFor(bound)]]) {
      expect(
        refusal(
          await rs.authenticate({
            ...dpopRequest(bound, proofs),
            authorization: [`Bearer ${bound}`],
          }),
        ),
      ).toStrictEqual({
        status: 401,
        error: 'invalid_token',
        description:
          'the access token is bound to a key: send it with the DPoP scheme and a DPoP proof',
        schemes: ['DPoP'],
        params: {
          error: 'invalid_token',
          error_description:
            'the access token is bound to a key: send it with the DPoP scheme and a DPoP proof',
          resource_metadata: rs.metadataUrl,
          algs: ALGS,
        },
        nonce: undefined,
      });
    }
  });

  it('refuses an unbound token sent with the DPoP scheme, even with a proof', async () => {
    expect(
      refusal(await rs.authenticate(dpopRequest(unbound, [await proofFor(unbound)]))),
    ).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description: 'the access token sent as DPoP is not bound to a key',
      schemes: ['DPoP'],
    });
  });

  const proofRefusals: [string, () => Promise<BearerRequest>, string][] = [
    [
      'no DPoP header',
      () => Promise.resolve(dpopRequest(bound, [])),
      'a DPoP-bound access token must come with a DPoP proof header',
    ],
    [
      'two DPoP headers',
      async () => dpopRequest(bound, [await proofFor(bound), await proofFor(bound)]),
      'send exactly one DPoP header',
    ],
    [
      'another method (htm)',
      async () => dpopRequest(bound, [await proofFor(bound, { htm: 'GET' })]),
      'the DPoP proof htm claim does not match the request method',
    ],
    [
      'htm in lower case',
      async () => dpopRequest(bound, [await proofFor(bound, { htm: 'post' })]),
      'the DPoP proof htm claim does not match the request method',
    ],
    [
      'another path (htu)',
      async () => dpopRequest(bound, [await proofFor(bound, { htu: `${RESOURCE}/admin` })]),
      'the DPoP proof htu claim does not match the request URL',
    ],
    [
      'another host (htu)',
      async () =>
        dpopRequest(bound, [await proofFor(bound, { htu: 'https://evil.example.test/mcp' })]),
      'the DPoP proof htu claim does not match the request URL',
    ],
    [
      'http instead of https (htu)',
      async () =>
        dpopRequest(bound, [await proofFor(bound, { htu: 'http://mcp.example.test/mcp' })]),
      'the DPoP proof htu claim does not match the request URL',
    ],
    [
      'htu not a URL',
      async () => dpopRequest(bound, [await proofFor(bound, { htu: '/mcp' })]),
      'the DPoP proof htu claim is not a URL',
    ],
    [
      'no ath',
      async () => dpopRequest(bound, [await makeProof(key, { htm: 'POST', htu: HTU })]),
      'the DPoP proof has no ath claim',
    ],
    [
      'the ath of another token',
      async () => dpopRequest(bound, [await proofFor(unbound)]),
      'the DPoP proof ath claim does not match the access token',
    ],
    [
      'iat 61 s old',
      async () =>
        dpopRequest(bound, [
          await proofFor(bound, { claims: { iat: Math.floor(Date.now() / 1000) - 61 } }),
        ]),
      'the DPoP proof is too old',
    ],
    [
      'iat 30 s ahead',
      async () =>
        dpopRequest(bound, [
          await proofFor(bound, { claims: { iat: Math.floor(Date.now() / 1000) + 30 } }),
        ]),
      'the DPoP proof iat claim is in the future',
    ],
    [
      'no iat',
      async () => dpopRequest(bound, [await proofFor(bound, { claims: { iat: undefined } })]),
      'the DPoP proof has no iat claim',
    ],
    [
      'no jti',
      async () => dpopRequest(bound, [await proofFor(bound, { claims: { jti: undefined } })]),
      'the DPoP proof has no jti claim',
    ],
    [
      'typ JWT',
      async () => dpopRequest(bound, [await proofFor(bound, { header: { typ: 'JWT' } })]),
      'the DPoP proof typ header must be dpop+jwt',
    ],
    [
      'no jwk header',
      async () => dpopRequest(bound, [await proofFor(bound, { header: { jwk: undefined } })]),
      'the DPoP proof has no jwk header',
    ],
    [
      'a private key in the jwk header',
      async () => {
        const withPrivate = await proofKey();
        const { exportJWK } = await import('jose');
        const privateJwk = await exportJWK(withPrivate.privateKey);
        const token = await boundToken(withPrivate.jkt);
        return dpopRequest(token, [
          await makeProof(withPrivate, {
            htm: 'POST',
            htu: HTU,
            accessToken: token,
            header: { jwk: privateJwk },
          }),
        ]);
      },
      'the DPoP proof jwk header must hold a public key only',
    ],
    [
      'alg none',
      () =>
        Promise.resolve(
          dpopRequest(bound, [
            unsignedProof(key, {
              jti: 'x',
              htm: 'POST',
              htu: HTU,
              iat: Math.floor(Date.now() / 1000),
            }),
          ]),
        ),
      'the DPoP proof is signed with an algorithm this resource does not accept',
    ],
    [
      'HS256 with the public key as the header jwk',
      async () => {
        const secret = await generateSecret('HS256');
        const proof = await new SignJWT({
          jti: 'y',
          htm: 'POST',
          htu: HTU,
          iat: Math.floor(Date.now() / 1000),
        })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: key.publicJwk })
          .sign(secret);
        return dpopRequest(bound, [proof]);
      },
      'the DPoP proof is signed with an algorithm this resource does not accept',
    ],
    [
      'HS256 with a symmetric jwk',
      async () => {
        const secret = new Uint8Array(32).fill(7);
        const proof = await new SignJWT({
          jti: 'z',
          htm: 'POST',
          htu: HTU,
          iat: Math.floor(Date.now() / 1000),
        })
          // jose's types keep a secret out of a jwk header; a client need not use jose.
          .setProtectedHeader({
            typ: 'dpop+jwt',
            alg: 'HS256',
            jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') },
          } as unknown as Parameters<SignJWT['setProtectedHeader']>[0])
          .sign(secret);
        return dpopRequest(bound, [proof]);
      },
      'the DPoP proof jwk header must hold a public key only',
    ],
    [
      'a signature by another key than the header jwk',
      async () =>
        dpopRequest(bound, [
          await makeProof(otherKey, {
            htm: 'POST',
            htu: HTU,
            accessToken: bound,
            header: { jwk: key.publicJwk },
          }),
        ]),
      'the DPoP proof signature is invalid',
    ],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await proofFor(bound)).split('.');
        const payload = Buffer.from(
          JSON.stringify({ jti: 'w', htm: 'POST', htu: HTU, iat: Math.floor(Date.now() / 1000) }),
        ).toString('base64url');
        return dpopRequest(bound, [`${header}.${payload}.${signature}`]);
      },
      'the DPoP proof signature is invalid',
    ],
    [
      'garbage',
      () => Promise.resolve(dpopRequest(bound, ['not-a-jwt'])),
      'the DPoP proof is malformed',
    ],
  ];

  for (const [attack, request, description] of proofRefusals) {
    it(`refuses a proof with ${attack}: 401 invalid_dpop_proof`, async () => {
      expect(refusal(await rs.authenticate(await request()))).toStrictEqual({
        status: 401,
        error: 'invalid_dpop_proof',
        description,
        schemes: ['DPoP'],
        params: {
          error: 'invalid_dpop_proof',
          error_description: description,
          resource_metadata: rs.metadataUrl,
          algs: ALGS,
        },
        nonce: undefined,
      });
    });
  }

  it('refuses a valid proof by another key than the token is bound to: invalid_token', async () => {
    const proof = await makeProof(otherKey, { htm: 'POST', htu: HTU, accessToken: bound });
    expect(refusal(await rs.authenticate(dpopRequest(bound, [proof])))).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description: 'the access token is bound to another key than the DPoP proof',
      schemes: ['DPoP'],
    });
  });

  it('refuses a replayed proof (its jti), and takes a fresh one', async () => {
    const proof = await proofFor(bound);
    expect((await rs.authenticate(dpopRequest(bound, [proof]))).ok).toBe(true);
    expect(refusal(await rs.authenticate(dpopRequest(bound, [proof])))).toMatchObject({
      status: 401,
      error: 'invalid_dpop_proof',
      description: 'the DPoP proof has been used before',
    });
    // Same jti, another proof (new iat): still the same jti of the same key.
    const jti = 'fixed-jti';
    expect(
      (await rs.authenticate(dpopRequest(bound, [await proofFor(bound, { claims: { jti } })]))).ok,
    ).toBe(true);
    expect(
      refusal(
        await rs.authenticate(dpopRequest(bound, [await proofFor(bound, { claims: { jti } })])),
      ).description,
    ).toBe('the DPoP proof has been used before');
    // A refused proof is not remembered: the same jti in a correct proof is then fine.
    const refusedJti = 'refused-first';
    expect(
      (
        await rs.authenticate(
          dpopRequest(bound, [await proofFor(bound, { htm: 'GET', claims: { jti: refusedJti } })]),
        )
      ).ok,
    ).toBe(false);
    expect(
      (
        await rs.authenticate(
          dpopRequest(bound, [await proofFor(bound, { claims: { jti: refusedJti } })]),
        )
      ).ok,
    ).toBe(true);
  });

  it('takes a proof as old as the window allows, by the resource server clock', async () => {
    let now = Date.now();
    const timed = server({ clock: () => now, dpop: { maxAgeSeconds: 60, clockSkewSeconds: 5 } });
    const iat = Math.floor(now / 1000);
    const proof = () => proofFor(bound, { claims: { iat } });
    now = (iat + 60) * 1000;
    expect((await timed.authenticate(dpopRequest(bound, [await proof()]))).ok).toBe(true);
    now = (iat + 61) * 1000;
    expect(refusal(await timed.authenticate(dpopRequest(bound, [await proof()]))).description).toBe(
      'the DPoP proof is too old',
    );
    now = (iat - 5) * 1000;
    expect((await timed.authenticate(dpopRequest(bound, [await proof()]))).ok).toBe(true);
    now = (iat - 6) * 1000;
    expect(refusal(await timed.authenticate(dpopRequest(bound, [await proof()]))).description).toBe(
      'the DPoP proof iat claim is in the future',
    );
  });

  it('refuses a token bound by a method it cannot check, and a malformed cnf', async () => {
    for (const cnf of [{ 'x5t#S256': 'abc' }, { jkt: 42 }, 'jkt', { jkt: 'short' }]) {
      const token = await KeyServer.sign(signing, issuer.claims(RESOURCE, { cnf }));
      const outcome = refusal(await rs.authenticate({ authorization: [`Bearer ${token}`] }));
      expect(outcome).toMatchObject({ status: 401, error: 'invalid_token', schemes: ['Bearer'] });
      expect(outcome.description).toMatch(/^the (cnf claim|access token is bound by a method)/);
    }
  });

  it('without the request method and URL, a bound token cannot be checked: refused', async () => {
    const proof = await proofFor(bound);
    expect(
      refusal(await rs.authenticate({ authorization: [`DPoP ${bound}`], dpop: [proof] })),
    ).toMatchObject({ status: 401, error: 'invalid_dpop_proof' });
  });

  it('the htu base is the configured one, whatever the request says', async () => {
    const behindProxy = server({ dpop: { baseUrl: 'https://api.example.test/v1/' } });
    const request = async (htu: string, url: string) =>
      behindProxy.authenticate(dpopRequest(bound, [await proofFor(bound, { htu })], { url }));
    expect((await request('https://api.example.test/v1/mcp', '/mcp')).ok).toBe(true);
    expect((await request(HTU, '/mcp')).ok).toBe(false);
    // An absolute-form request target names a host: only its path counts.
    expect(
      (await request('https://api.example.test/v1/mcp', 'https://evil.example.test/mcp')).ok,
    ).toBe(true);
    expect(
      (await request('https://evil.example.test/mcp', 'https://evil.example.test/mcp')).ok,
    ).toBe(false);
  });

  it('403 insufficient_scope for a bound token is a DPoP challenge naming the scopes', async () => {
    const outcome = await rs.authenticate(dpopRequest(bound, [await proofFor(bound)]), {
      requiredScopes: ['mcp:tools', 'mcp:admin'],
    });
    expect(refusal(outcome)).toMatchObject({
      status: 403,
      error: 'insufficient_scope',
      schemes: ['DPoP'],
      params: {
        error: 'insufficient_scope',
        scope: 'mcp:tools mcp:admin',
        resource_metadata: rs.metadataUrl,
        algs: ALGS,
      },
    });
  });

  describe('dpop.required', () => {
    it('refuses an unbound bearer token; the missing-token challenge is DPoP alone', async () => {
      const strict = server({ dpop: { required: true, algorithms: ['ES256'] } });
      expect(strict.metadata).toMatchObject({
        dpop_signing_alg_values_supported: ['ES256'],
        dpop_bound_access_tokens_required: true,
      });
      expect(
        refusal(await strict.authenticate({ authorization: [`Bearer ${unbound}`] })),
      ).toMatchObject({
        status: 401,
        error: 'invalid_token',
        description: 'this resource accepts DPoP-bound access tokens only',
        schemes: ['DPoP'],
        params: { algs: 'ES256' },
      });
      expect(refusal(await strict.authenticate({ authorization: [] }))).toMatchObject({
        status: 401,
        error: undefined,
        schemes: ['DPoP'],
        params: { resource_metadata: strict.metadataUrl, algs: 'ES256' },
      });
      expect((await strict.authenticate(dpopRequest(bound, [await proofFor(bound)]))).ok).toBe(
        true,
      );
      // An algorithm outside the configured list.
      const ed = await proofKey('EdDSA');
      const edToken = await boundToken(ed.jkt);
      const edProof = await makeProof(ed, { htm: 'POST', htu: HTU, accessToken: edToken });
      expect(refusal(await strict.authenticate(dpopRequest(edToken, [edProof]))).description).toBe(
        'the DPoP proof is signed with an algorithm this resource does not accept',
      );
    });
  });

  describe("dpop.nonce: 'required' (RFC 9449 §9)", () => {
    it('asks for a nonce, takes a proof with it, and hands out the next one', async () => {
      const withNonces = server({ dpop: { nonce: 'required' } });
      const first = refusal(
        await withNonces.authenticate(dpopRequest(bound, [await proofFor(bound)])),
      );
      expect(first).toMatchObject({
        status: 401,
        error: 'use_dpop_nonce',
        description: 'this resource requires a nonce in the DPoP proof',
        schemes: ['DPoP'],
        params: { error: 'use_dpop_nonce', algs: ALGS },
      });
      expect(first.nonce).toMatch(/^[A-Za-z0-9_-]+$/);
      const nonce = first.nonce ?? '';
      const accepted = await withNonces.authenticate(
        dpopRequest(bound, [await proofFor(bound, { claims: { nonce } })]),
      );
      if (!accepted.ok) throw new Error(accepted.failure.description);
      expect(accepted.headers['dpop-nonce']).toMatch(/^[A-Za-z0-9_-]+$/);
      // The missing-token answer carries a nonce too, saving a round trip.
      expect(refusal(await withNonces.authenticate({ authorization: [] })).nonce).toMatch(/./);
    });

    it('refuses a made-up nonce, another secret’s nonce, and an expired one', async () => {
      let now = Date.now();
      const secret = 'a-secret-shared-by-every-process-of-this-api';
      const one = server({ clock: () => now, dpop: { nonce: 'required', nonceSecret: secret } });
      const two = server({ clock: () => now, dpop: { nonce: 'required', nonceSecret: secret } });
      const other = server({ clock: () => now, dpop: { nonce: 'required' } });
      const nonce = refusal(await one.authenticate({ authorization: [] })).nonce ?? '';
      const withNonce = async (value: string) =>
        dpopRequest(bound, [
          await proofFor(bound, { claims: { nonce: value, iat: Math.floor(now / 1000) } }),
        ]);
      expect((await two.authenticate(await withNonce(nonce))).ok).toBe(true);
      const refused = refusal(await other.authenticate(await withNonce(nonce)));
      expect(refused).toMatchObject({
        error: 'use_dpop_nonce',
        description: 'the DPoP proof nonce is invalid or expired',
      });
      expect(refused.nonce).toMatch(/./);
      expect(refusal(await one.authenticate(await withNonce('made-up'))).error).toBe(
        'use_dpop_nonce',
      );
      const tampered = `${nonce.slice(0, -2)}${nonce.endsWith('AA') ? 'BB' : 'AA'}`;
      expect(refusal(await one.authenticate(await withNonce(tampered))).error).toBe(
        'use_dpop_nonce',
      );
      now += 301_000;
      expect(refusal(await one.authenticate(await withNonce(nonce))).description).toBe(
        'the DPoP proof nonce is invalid or expired',
      );
    });

    it('uses a nonce source of the application', async () => {
      const issued = new Set<string>();
      const custom = server({
        dpop: {
          nonce: 'required',
          nonceSource: {
            issue: () => {
              const value = `n${issued.size}`;
              issued.add(value);
              return value;
            },
            verify: (value) => issued.has(value),
          },
        },
      });
      const nonce = refusal(await custom.authenticate({ authorization: [] })).nonce;
      expect(nonce).toBe('n0');
      expect(
        (
          await custom.authenticate(
            dpopRequest(bound, [await proofFor(bound, { claims: { nonce } })]),
          )
        ).ok,
      ).toBe(true);
      expect(
        refusal(
          await custom.authenticate(
            dpopRequest(bound, [await proofFor(bound, { claims: { nonce: 'n9' } })]),
          ),
        ).error,
      ).toBe('use_dpop_nonce');
    });
  });

  it('checks its options at start-up', () => {
    for (const dpop of [
      { algorithms: [] },
      { algorithms: ['none'] },
      { algorithms: ['ES256', 'HS256'] },
      { nonce: 'sometimes' },
      { nonceSecret: 'a'.repeat(40) },
      { nonce: 'required', nonceSecret: 'too short' },
      { maxAgeSeconds: -1 },
      { replayCacheSize: 0 },
      { baseUrl: 'http://api.example.test' },
      { baseUrl: 'https://api.example.test/?x=1' },
      { requierd: true },
    ]) {
      expect(
        () => server({ dpop: dpop as NonNullable<ResourceServerOptions['dpop']> }),
        JSON.stringify(dpop),
      ).toThrow(TypeError);
    }
  });
});

describe('MemoryReplayCache', () => {
  it('remembers a key until it expires, and holds at most its size', () => {
    let now = 1_000_000;
    const cache = new MemoryReplayCache(3, () => now);
    expect(cache.useOnce('a', now + 10)).toBe(true);
    expect(cache.useOnce('a', now + 10)).toBe(false);
    now += 10;
    expect(cache.useOnce('a', now + 10)).toBe(true);
    expect(cache.useOnce('b', now + 10)).toBe(true);
    expect(cache.useOnce('c', now + 10)).toBe(true);
    expect(cache.useOnce('d', now + 10)).toBe(true);
    expect(cache.size).toBe(3);
    // The oldest gave way.
    expect(cache.useOnce('b', now + 10)).toBe(false);
    expect(cache.useOnce('a', now + 10)).toBe(true);
    now += 11;
    expect(cache.useOnce('e', now + 10)).toBe(true);
    expect(cache.size).toBe(1);
  });
});
