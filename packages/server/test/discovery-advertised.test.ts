/**
 * The discovery document lists exactly what is implemented (issue #16, "What it must show"): every
 * key of `metadataFor` (endpoints/discovery) and every value of its lists is in the table below
 * with the test that exercises it: a file and the exact title of an `it(...)` in it. This file
 * checks that the served document has exactly the table's keys and values (so advertising
 * something new without a test fails), that each proving test still exists under its title (so
 * renaming or deleting it fails), and probes a running server: every discovery URL serves the same
 * document, every advertised endpoint answers, the JWKS holds a key for each ID token algorithm,
 * every advertised grant type and client authentication is taken, and what is not advertised is
 * refused. Where no other test exercised a value, the test is here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateEnvironmentSettings } from '../src/services/environments.js';
import { createUser } from '../src/services/users.js';
import { operatorSession } from './support/admin.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

/** Paths are from the repository root. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const THIS = 'packages/server/test/discovery-advertised.test.ts';

/** A test that exercises an advertised value: its file and the exact title of its `it(...)`. */
type Evidence = readonly [file: string, title: string];

const F = {
  code: 'packages/server/test/authorization-code.test.ts',
  rules: 'packages/server/test/authorization-rules.test.ts',
  claims: 'packages/server/test/id-token-claims.test.ts',
  device: 'packages/server/test/device-flow.test.ts',
  exchange: 'packages/server/test/token-exchange.test.ts',
  endSession: 'packages/server/test/end-session.test.ts',
  backchannel: 'packages/server/test/backchannel-logout.test.ts',
  par: 'packages/server/test/par.test.ts',
  feed: 'packages/server/test/revocation-feed.test.ts',
  docs: 'packages/server/test/metadata-documents.test.ts',
  dcr: 'packages/server/test/dynamic-registration.test.ts',
  pkjwt: 'packages/server/test/private-key-jwt.test.ts',
  impersonation: 'packages/server/test/impersonation.test.ts',
  thirdParty: 'packages/server/test/third-party-clients.e2e.test.ts',
  dpop: 'packages/server/test/dpop-token.test.ts',
} as const;

// Titles of the tests in this file that the table points to (each also written out in its it(),
// where the evidence check reads it).
const T = {
  auth: 'every advertised client authentication method and assertion algorithm authenticates at the token, revocation and introspection endpoints; a wrong credential does not',
  subject:
    'subject type public: two clients are told the same sub for one user; ID tokens, refreshed ones and userinfo carry only claims that claims_supported lists',
  requestUri:
    'request_uri_parameter_supported false: a request object by reference is refused, never fetched',
  acrImpersonation:
    'an impersonation asked for acr_values gets the impersonation class in its ID token, and only listed claims',
} as const;

const codeFlow: Evidence = [
  F.code,
  'issues a code with state and iss, and exchanges it once for RFC 9068 tokens',
];
const rs256Claims: Evidence = [
  F.claims,
  'signs with RS256 by default and carries azp, sid, amr, at_hash and email_verified',
];
const profileClaims: Evidence = [
  F.claims,
  'releases name with profile, email and email_verified only with email; exp, iat and auth_time always',
];
const userinfoIntrospectRevoke: Evidence = [
  F.code,
  'answers userinfo, and introspection and revocation for an authenticated client',
];
const backchannel: Evidence = [
  F.backchannel,
  'a sign-out tells every client of the session that asked to be told, with sub and sid',
];
const own = (title: string): Evidence => [THIS, title];

/** What each scalar key must be, in the environment served (`par`: the one that requires PAR). */
type Expected = (issuer: string, environment: 'open' | 'par') => unknown;
const at =
  (path: string): Expected =>
  (issuer) =>
    `${issuer}${path}`;
const always =
  (value: unknown): Expected =>
  () =>
    value;

const SCALARS: Readonly<Record<string, { readonly value: Expected; readonly proof: Evidence }>> = {
  issuer: {
    value: (issuer) => issuer,
    proof: [
      F.thirdParty,
      'openid-client: discovery, code + PKCE, iss check, refresh, userinfo, introspection, revocation',
    ],
  },
  authorization_endpoint: { value: at('/authorize'), proof: codeFlow },
  token_endpoint: { value: at('/token'), proof: codeFlow },
  jwks_uri: { value: at('/jwks'), proof: rs256Claims },
  userinfo_endpoint: { value: at('/userinfo'), proof: userinfoIntrospectRevoke },
  revocation_endpoint: { value: at('/revoke'), proof: userinfoIntrospectRevoke },
  introspection_endpoint: { value: at('/introspect'), proof: userinfoIntrospectRevoke },
  revocation_feed_endpoint: {
    value: at('/revocations'),
    proof: [
      F.feed,
      'gives the linked client the events in seq order, times in seconds, not cached',
    ],
  },
  device_authorization_endpoint: {
    value: at('/device_authorization'),
    proof: [F.device, 'issues easy-to-type user codes and the verification URIs'],
  },
  end_session_endpoint: {
    value: at('/logout'),
    proof: [
      F.endSession,
      'with a valid hint: signs out at once and returns to the registered URI with state',
    ],
  },
  backchannel_logout_supported: { value: always(true), proof: backchannel },
  backchannel_logout_session_supported: { value: always(true), proof: backchannel },
  authorization_response_iss_parameter_supported: { value: always(true), proof: codeFlow },
  client_id_metadata_document_supported: {
    // Development allows metadata-document clients; production does not by default.
    value: (_issuer, environment) => environment === 'open',
    proof: [F.docs, 'signs a user in to a client known only by its document, marked unverified'],
  },
  registration_endpoint: {
    value: at('/register'),
    proof: [F.dcr, 'registers a public native client openly in development, marked dynamic'],
  },
  pushed_authorization_request_endpoint: {
    value: at('/par'),
    proof: [
      F.par,
      'a confidential client pushes, the browser brings only client_id and request_uri, the code is redeemed',
    ],
  },
  require_pushed_authorization_requests: {
    value: (_issuer, environment) => environment === 'par',
    proof: [
      F.par,
      'an environment that requires PAR refuses every front-channel request and says so in discovery',
    ],
  },
  request_parameter_supported: {
    value: always(false),
    proof: [F.rules, 'refuses other response types and request objects, sent back to the client'],
  },
  request_uri_parameter_supported: { value: always(false), proof: own(T.requestUri) },
};

const authEverywhere = own(T.auth);
const authMethods = (...methods: string[]) =>
  Object.fromEntries(methods.map((m) => [m, authEverywhere]));
const ASSERTION_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'] as const;
const assertionAlgs = Object.fromEntries(ASSERTION_ALGS.map((alg) => [alg, authEverywhere]));

const LISTS: Readonly<Record<string, Readonly<Record<string, Evidence>>>> = {
  response_types_supported: { code: codeFlow },
  // The code arrives in the redirect URI's query; response_mode=query said outright is taken too.
  response_modes_supported: { query: codeFlow },
  grant_types_supported: {
    authorization_code: codeFlow,
    refresh_token: [
      F.code,
      'rotates refresh tokens and revokes the family when a rotated one is reused',
    ],
    client_credentials: [F.code, 'issues client_credentials tokens to web clients only'],
    'urn:ietf:params:oauth:grant-type:device_code': [
      F.device,
      'answers authorization_pending, then slow_down when polled too fast, then tokens once approved',
    ],
    'urn:ietf:params:oauth:grant-type:token-exchange': [
      F.exchange,
      'issues a delegated token: aud the target, sub the user, act the agent, scope narrowed',
    ],
  },
  code_challenge_methods_supported: { S256: codeFlow },
  dpop_signing_alg_values_supported: Object.fromEntries(
    ['ES256', 'RS256', 'PS256', 'EdDSA', 'Ed25519'].map((alg) => [
      alg,
      [F.dpop, 'binds the access token to a proof signed with %s'] as const,
    ]),
  ),
  token_endpoint_auth_methods_supported: authMethods(
    'client_secret_basic',
    'client_secret_post',
    'private_key_jwt',
    'none',
  ),
  token_endpoint_auth_signing_alg_values_supported: Object.fromEntries(
    ASSERTION_ALGS.map((alg) => [alg, [F.pkjwt, 'accepts an assertion signed with %s'] as const]),
  ),
  revocation_endpoint_auth_methods_supported: authMethods(
    'client_secret_basic',
    'client_secret_post',
    'private_key_jwt',
    'none',
  ),
  revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
  introspection_endpoint_auth_methods_supported: authMethods(
    'client_secret_basic',
    'client_secret_post',
    'private_key_jwt',
  ),
  introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
  scopes_supported: {
    openid: rs256Claims,
    profile: profileClaims,
    email: rs256Claims,
    offline_access: [
      F.claims,
      'keeps sid and amr in refreshed ID tokens, with the new access token’s at_hash',
    ],
  },
  subject_types_supported: { public: own(T.subject) },
  id_token_signing_alg_values_supported: {
    RS256: rs256Claims,
    ES256: [F.claims, 'signs with ES256 for a client that registered it'],
  },
  claims_supported: {
    sub: rs256Claims,
    iss: rs256Claims,
    aud: rs256Claims,
    azp: rs256Claims,
    exp: profileClaims,
    iat: profileClaims,
    auth_time: profileClaims,
    nonce: rs256Claims,
    sid: rs256Claims,
    amr: rs256Claims,
    acr: [F.claims, 'answers acr_values with the class the sign-in reached, kept on refresh'],
    at_hash: rs256Claims,
    act: [
      F.impersonation,
      'signs the operator in as the user, with a banner, act claims, and nothing of the user changed',
    ],
    email: rs256Claims,
    email_verified: [
      F.claims,
      'says email_verified as the operator set it, in the ID token and at userinfo',
    ],
    name: profileClaims,
  },
  acr_values_supported: {
    'urn:gatehouse:acr:password': [
      F.claims,
      'answers acr_values with the class the sign-in reached, kept on refresh',
    ],
    'urn:gatehouse:acr:impersonation': own(T.acrImpersonation),
  },
  prompt_values_supported: {
    none: [F.rules, 'answers prompt=none without a session with login_required, state and iss'],
    login: [F.rules, 'asks to sign in again with prompt=login, and when max_age has passed'],
    consent: [F.rules, 'asks for consent again with prompt=consent'],
  },
};

/**
 * The titles of the tests in a source file: the string literal right after `it(` or `test(`, or
 * after the `)` of `it.each(...)` (whose title is a template such as '… %s'). A skipped or focused
 * test (`it` with `.skip` or `.only`) is not counted.
 */
function testTitles(source: string): Set<string> {
  const literal =
    /(?:\b(?:it|test)|\))\(\s*(?:'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\$]|\\.)*)`)/g;
  return new Set(
    [...source.matchAll(literal)].map((m) => (m[1] ?? m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1')),
  );
}

/** How to call each advertised endpoint: anything but 404 means it is there. */
const ENDPOINT_METHODS: Readonly<Record<string, 'GET' | 'POST'>> = {
  authorization_endpoint: 'GET',
  token_endpoint: 'POST',
  userinfo_endpoint: 'GET',
  revocation_endpoint: 'POST',
  introspection_endpoint: 'POST',
  revocation_feed_endpoint: 'GET',
  device_authorization_endpoint: 'POST',
  end_session_endpoint: 'GET',
  registration_endpoint: 'POST',
  pushed_authorization_request_endpoint: 'POST',
  jwks_uri: 'GET',
};

const PASSWORD = 'correct horse battery advertised';
const REDIRECT = 'https://app.example.com/advertised/callback';
const LOOPBACK = 'http://127.0.0.1/callback';

interface Key {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function newKey(alg: string): Promise<Key> {
  const kid = randomUUID();
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** RFC 7523 §3: a client assertion for `clientId` addressed to `aud`. */
const assertion = (key: Key, clientId: string, aud: string) =>
  new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(key.privateKey);

type Doc = Record<string, unknown>;

describe('the discovery document advertises exactly what is implemented', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  /** Development: registration open, metadata documents allowed. Production: PAR required. */
  const ENVS = { open: 'development', par: 'production' } as const;
  const docs: Record<keyof typeof ENVS, Doc> = { open: {}, par: {} };

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await updateEnvironmentSettings(t.ctx, ENVS.par, { requirePar: true });
    for (const kind of ['open', 'par'] as const)
      docs[kind] = (await (
        await fetch(`${t.issuer(ENVS[kind])}/.well-known/openid-configuration`)
      ).json()) as Doc;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const issuer = () => t.issuer(ENVS.open);
  const doc = () => docs.open;
  const list = (key: string) => doc()[key] as string[];
  /** The claims of an ID token or userinfo answer that claims_supported does not list. */
  const unlisted = (claims: object) =>
    Object.keys(claims).filter((claim) => !list('claims_supported').includes(claim));

  describe('the table', () => {
    it('has exactly the served keys, in an environment with registration and metadata documents and in one that requires PAR', () => {
      const tableKeys = [...Object.keys(SCALARS), ...Object.keys(LISTS)].sort();
      for (const kind of ['open', 'par'] as const) {
        expect(Object.keys(docs[kind]).sort()).toEqual(tableKeys);
        for (const [key, { value }] of Object.entries(SCALARS))
          expect({ key, value: docs[kind][key] }).toEqual({
            key,
            value: value(t.issuer(ENVS[kind]), kind),
          });
        // The lists are the same in both environments.
        for (const key of Object.keys(LISTS)) expect(docs[kind][key]).toEqual(docs.open[key]);
      }
    });

    it('has exactly the served values of every list, each once', () => {
      for (const [key, values] of Object.entries(LISTS)) {
        const served = list(key);
        expect(new Set(served).size, `${key} repeats a value`).toBe(served.length);
        expect({ key, values: [...served].sort() }).toEqual({
          key,
          values: Object.keys(values).sort(),
        });
      }
    });

    it('names for every advertised value a test that exists, under its exact title', () => {
      const evidence: Evidence[] = [
        ...Object.values(SCALARS).map((s) => s.proof),
        ...Object.values(LISTS).flatMap((values) => Object.values(values)),
      ];
      const titles = new Map<string, Set<string>>();
      const missing: string[] = [];
      for (const [file, title] of evidence) {
        if (!existsSync(`${ROOT}${file}`)) {
          missing.push(`${file}: no such file`);
          continue;
        }
        let found = titles.get(file);
        if (found === undefined) {
          found = testTitles(readFileSync(`${ROOT}${file}`, 'utf8'));
          titles.set(file, found);
        }
        if (!found.has(title)) missing.push(`${file}: no test titled "${title}"`);
      }
      expect(missing).toEqual([]);
    });

    it('reads test titles as the runner would, and never a skipped one', () => {
      const source = [
        "it('plain', () => {});",
        'it(\n  "on its own line, with a \\"quote\\"",\n  () => {});',
        "it.each(['a'])('each %s', () => {});",
        // Spelled in two parts so no search for left-behind skipped tests finds these.
        ['it', "skip('skipped', () => {});"].join('.'),
        ['it', "only('focused', () => {});"].join('.'),
      ].join('\n');
      expect([...testTitles(source)].sort()).toEqual(
        ['each %s', 'on its own line, with a "quote"', 'plain'].sort(),
      );
    });
  });

  describe('a running server', () => {
    it('serves the same document at all four discovery URLs, in both environments', async () => {
      for (const kind of ['open', 'par'] as const) {
        const env = ENVS[kind];
        for (const path of [
          `/.well-known/oauth-authorization-server/e/${env}`,
          `/.well-known/openid-configuration/e/${env}`,
          `/e/${env}/.well-known/openid-configuration`,
          `/e/${env}/.well-known/oauth-authorization-server`,
        ]) {
          const response = await fetch(`${t.url}${path}`);
          expect({ path, status: response.status }).toEqual({ path, status: 200 });
          expect(await response.json()).toEqual(docs[kind]);
        }
      }
    });

    it('answers every advertised endpoint and the jwks_uri with something other than 404', async () => {
      const endpoints = Object.keys(doc()).filter(
        (k) => k.endsWith('_endpoint') || k === 'jwks_uri',
      );
      expect(endpoints.sort()).toEqual(Object.keys(ENDPOINT_METHODS).sort());
      for (const key of endpoints) {
        const url = doc()[key] as string;
        expect(url.startsWith(`${issuer()}/`)).toBe(true);
        const method = ENDPOINT_METHODS[key] ?? 'GET';
        const response = await fetch(url, {
          method,
          redirect: 'manual',
          ...(method === 'POST'
            ? {
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams({}),
              }
            : {}),
        });
        await response.arrayBuffer();
        expect({ key, status: response.status }).not.toEqual({ key, status: 404 });
        expect(response.status).not.toBe(405);
      }
    });

    it('publishes a JWKS key for each advertised ID token signing algorithm', async () => {
      const jwks = (await (await fetch(doc().jwks_uri as string)).json()) as { keys: JWK[] };
      for (const alg of list('id_token_signing_alg_values_supported'))
        expect(jwks.keys.some((k) => k.alg === alg && k.use !== 'enc' && k.d === undefined)).toBe(
          true,
        );
    });

    it('knows every advertised grant type at the token endpoint, and no other', async () => {
      const client = await t.client({
        type: 'web',
        name: 'Grant probe',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      });
      const ask = async (grantType: string) =>
        (
          await t.tokenRequest({
            grant_type: grantType,
            client_id: client.clientId,
            client_secret: client.clientSecret ?? '',
          })
        ).error;
      for (const grantType of list('grant_types_supported'))
        expect({ grantType, error: await ask(grantType) }).not.toEqual({
          grantType,
          error: 'unsupported_grant_type',
        });
      // The probe tells the difference: grants not advertised are unknown.
      for (const grantType of [
        'password',
        'implicit',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ])
        expect(await ask(grantType)).toBe('unsupported_grant_type');
    });

    it('refuses a response_mode, prompt or code_challenge_method it does not advertise', async () => {
      const client = await t.client({
        type: 'web',
        name: 'Refusal probe',
        redirectUris: [REDIRECT],
        skipConsent: true,
      });
      await t.user('refused@example.com', PASSWORD);
      const authorize = async (extra: Record<string, string>) => {
        const { challenge } = pkce();
        const response = await new FormBrowser(t.url).get(
          `/e/development/authorize?${new URLSearchParams({
            response_type: 'code',
            client_id: client.clientId,
            redirect_uri: REDIRECT,
            scope: 'openid',
            state: 'st',
            code_challenge: challenge,
            code_challenge_method: 'S256',
            ...extra,
          }).toString()}`,
        );
        const location = new URL(response.headers.get('location') ?? '', t.url);
        return {
          at: location.origin + location.pathname,
          error: location.searchParams.get('error'),
          code: location.searchParams.get('code'),
        };
      };
      const refusals: Record<string, string>[] = [
        ...['form_post', 'fragment', 'query.jwt', 'web_message']
          .filter((m) => !list('response_modes_supported').includes(m))
          .map((m) => ({ response_mode: m })),
        ...['select_account', 'create']
          .filter((p) => !list('prompt_values_supported').includes(p))
          .map((p) => ({ prompt: p })),
        ...['plain', 'S384']
          .filter((m) => !list('code_challenge_methods_supported').includes(m))
          .map((m) => ({ code_challenge: 'a'.repeat(43), code_challenge_method: m })),
      ];
      expect(refusals.length).toBeGreaterThanOrEqual(6);
      for (const extra of refusals)
        expect({ extra, ...(await authorize(extra)) }).toEqual({
          extra,
          at: REDIRECT,
          error: 'invalid_request',
          code: null,
        });
      // The advertised values themselves are taken (the user is not signed in: to the login page).
      for (const extra of [
        ...list('response_modes_supported').map((m) => ({ response_mode: m })),
        ...list('prompt_values_supported')
          .filter((p) => p !== 'none')
          .map((p) => ({ prompt: p })),
      ])
        expect({ extra, error: (await authorize(extra)).error }).toEqual({ extra, error: null });
    });
  });

  describe('values no other test exercised', () => {
    it('every advertised client authentication method and assertion algorithm authenticates at the token, revocation and introspection endpoints; a wrong credential does not', async () => {
      const keys = await Promise.all(ASSERTION_ALGS.map((alg) => newKey(alg)));
      const secret = await t.client({
        type: 'web',
        name: 'Secret auth probe',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'client_credentials'],
      });
      const keyed = await t.client({
        type: 'web',
        name: 'Key auth probe',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'client_credentials'],
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: keys.map((k) => k.jwk) },
      });
      const publicClient = await t.client({
        type: 'native',
        name: 'Public auth probe',
        redirectUris: [LOOPBACK],
      });
      const stranger = await newKey('ES256');

      /** The request each endpoint is asked, whoever asks. */
      const bodies = {
        token: (isPublic: boolean): Record<string, string> =>
          isPublic
            ? {
                // A public client has no client_credentials grant: a made-up code is refused
                // as invalid_grant, which is said only once the client is identified.
                grant_type: 'authorization_code',
                code: 'made-up-code',
                redirect_uri: LOOPBACK,
                code_verifier: pkce().verifier,
              }
            : { grant_type: 'client_credentials' },
        revocation: (): Record<string, string> => ({ token: 'not-a-token' }),
        introspection: (): Record<string, string> => ({ token: 'not-a-token' }),
      };
      const post = async (
        endpoint: keyof typeof bodies,
        form: Record<string, string>,
        authorization?: string,
      ) => {
        const response = await fetch(doc()[`${endpoint}_endpoint`] as string, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...(authorization === undefined ? {} : { authorization }),
          },
          body: new URLSearchParams(form),
        });
        const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
        return { status: response.status, body };
      };
      const basic = (id: string, pass: string) =>
        `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(pass)}`).toString('base64')}`;

      for (const endpoint of ['token', 'revocation', 'introspection'] as const) {
        const methods = doc()[`${endpoint}_endpoint_auth_methods_supported`] as string[];
        const algs = (doc()[`${endpoint}_endpoint_auth_signing_alg_values_supported`] ??
          []) as string[];
        /** Authenticated: a token, or an answer about the request rather than the client. */
        const accepted = (reply: { status: number; body: Record<string, unknown> }) => {
          expect(reply.status).not.toBe(401);
          expect(reply.body.error).not.toBe('invalid_client');
          if (endpoint === 'token' && reply.status === 200)
            expect(typeof reply.body.access_token).toBe('string');
        };
        const refused = (reply: { status: number; body: Record<string, unknown> }) => {
          expect(reply.status).toBe(401);
          expect(reply.body.error).toBe('invalid_client');
        };
        for (const method of methods) {
          const label = `${endpoint} ${method}`;
          switch (method) {
            case 'client_secret_basic': {
              const ok = await post(
                endpoint,
                bodies[endpoint](false),
                basic(secret.clientId, secret.clientSecret ?? ''),
              );
              if (endpoint === 'token') expect(ok.status, label).toBe(200);
              accepted(ok);
              refused(
                await post(endpoint, bodies[endpoint](false), basic(secret.clientId, 'wrong')),
              );
              break;
            }
            case 'client_secret_post': {
              const form = { ...bodies[endpoint](false), client_id: secret.clientId };
              const ok = await post(endpoint, {
                ...form,
                client_secret: secret.clientSecret ?? '',
              });
              if (endpoint === 'token') expect(ok.status, label).toBe(200);
              accepted(ok);
              refused(await post(endpoint, { ...form, client_secret: 'wrong' }));
              break;
            }
            case 'none': {
              const ok = await post(endpoint, {
                ...bodies[endpoint](true),
                client_id: publicClient.clientId,
              });
              if (endpoint === 'token') expect(ok.body.error, label).toBe('invalid_grant');
              else expect(ok.status, label).toBe(200);
              // Without credentials, a confidential client is not authenticated by its id alone.
              refused(
                await post(endpoint, { ...bodies[endpoint](false), client_id: secret.clientId }),
              );
              break;
            }
            case 'private_key_jwt': {
              expect(algs.length, label).toBeGreaterThan(0);
              const form = (signed: string) => ({
                ...bodies[endpoint](false),
                client_id: keyed.clientId,
                client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
                client_assertion: signed,
              });
              for (const alg of algs) {
                const key = keys.find((k) => k.alg === alg);
                expect(key, `${label} ${alg}: no key of that algorithm here`).toBeDefined();
                if (key === undefined) continue;
                const ok = await post(
                  endpoint,
                  form(await assertion(key, keyed.clientId, issuer())),
                );
                if (endpoint === 'token') expect(ok.status, `${label} ${alg}`).toBe(200);
                accepted(ok);
              }
              refused(
                await post(endpoint, form(await assertion(stranger, keyed.clientId, issuer()))),
              );
              break;
            }
            default:
              throw new Error(`${label}: advertised, but this test does not know how to use it`);
          }
        }
      }
    });

    it('subject type public: two clients are told the same sub for one user; ID tokens, refreshed ones and userinfo carry only claims that claims_supported lists', async () => {
      const spec = {
        type: 'web' as const,
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code' as const, 'refresh_token' as const],
        skipConsent: true,
      };
      const first = await t.client({ ...spec, name: 'Subject one' });
      const second = await t.client({ ...spec, name: 'Subject two' });
      const { id: userId } = await createUser(t.ctx, {
        environment: 'development',
        email: 'subject@example.com',
        password: PASSWORD,
        name: 'Subject Person',
      });
      const browser = new FormBrowser(t.url);
      const subs: unknown[] = [];
      for (const client of [first, second]) {
        const { verifier, challenge } = pkce();
        const location = await browser.authorize(
          {
            response_type: 'code',
            client_id: client.clientId,
            redirect_uri: REDIRECT,
            // Everything an ID token may say: every scope, a nonce, an acr asked for.
            scope: list('scopes_supported').join(' '),
            nonce: 'n',
            acr_values: 'urn:gatehouse:acr:password',
            code_challenge: challenge,
            code_challenge_method: 'S256',
          },
          'subject@example.com',
          PASSWORD,
        );
        const tokens = await t.tokenRequest({
          grant_type: 'authorization_code',
          code: new URL(location).searchParams.get('code') ?? '',
          code_verifier: verifier,
          redirect_uri: REDIRECT,
          client_id: client.clientId,
          client_secret: client.clientSecret ?? '',
        });
        expect(tokens.status).toBe(200);
        const idToken = decodeJwt(tokens.id_token ?? '');
        subs.push(idToken.sub);
        const info = (await (
          await fetch(doc().userinfo_endpoint as string, {
            headers: { authorization: `Bearer ${tokens.access_token}` },
          })
        ).json()) as { sub?: string };
        subs.push(info.sub);
        const refreshed = await t.tokenRequest({
          grant_type: 'refresh_token',
          refresh_token: tokens.refresh_token ?? '',
          client_id: client.clientId,
          client_secret: client.clientSecret ?? '',
        });
        expect(refreshed.status).toBe(200);
        for (const claims of [idToken, info, decodeJwt(refreshed.id_token ?? '')])
          expect(unlisted(claims)).toEqual([]);
        expect(idToken).toHaveProperty('name');
        expect(idToken).toHaveProperty('acr');
      }
      expect(subs).toEqual([userId, userId, userId, userId]);
    });

    it('request_uri_parameter_supported false: a request object by reference is refused, never fetched', async () => {
      const client = await t.client({
        type: 'web',
        name: 'Request object probe',
        redirectUris: [REDIRECT],
      });
      let fetched = 0;
      const { createServer } = await import('node:http');
      const rp = createServer((_request, response) => {
        fetched += 1;
        response.end('eyJhbGciOiJub25lIn0.e30.');
      });
      await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
      try {
        const address = rp.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        const { challenge } = pkce();
        const response = await new FormBrowser(t.url).get(
          `/e/development/authorize?${new URLSearchParams({
            response_type: 'code',
            client_id: client.clientId,
            redirect_uri: REDIRECT,
            scope: 'openid',
            state: 'st',
            code_challenge: challenge,
            code_challenge_method: 'S256',
            request_uri: `http://127.0.0.1:${port}/request.jwt`,
          }).toString()}`,
        );
        const location = new URL(response.headers.get('location') ?? '');
        expect(location.origin + location.pathname).toBe(REDIRECT);
        expect(location.searchParams.get('error')).toBe('invalid_request');
        expect(location.searchParams.get('code')).toBeNull();
        expect(fetched).toBe(0);
      } finally {
        await new Promise<void>((resolve) => {
          rp.close(() => {
            resolve();
          });
        });
      }
    });

    it('an impersonation asked for acr_values gets the impersonation class in its ID token, and only listed claims', async () => {
      const { session: admin } = await operatorSession(t, 'admin@ops.example', 'admin');
      expect(
        (await admin.call('PATCH', '/environments/development', { impersonationEnabled: true }))
          .status,
      ).toBe(200);
      const app = await t.client({
        type: 'web',
        name: 'Impersonated app',
        redirectUris: [REDIRECT],
      });
      const userId = await t.user('impersonated@example.com', PASSWORD);
      const browser = new FormBrowser(t.url);
      const { session: support } = await operatorSession(
        t,
        'support@ops.example',
        'support',
        browser.jar,
      );
      const started = await support.call('POST', '/environments/development/impersonations', {
        userId,
        clientId: app.clientId,
        reason: 'ticket 16: acr of an impersonation',
      });
      expect(started.status).toBe(201);
      const { verifier, challenge } = pkce();
      const { last, location: early } = await browser.follow(
        await browser.get(
          `/e/development/authorize?${new URLSearchParams({
            response_type: 'code',
            client_id: app.clientId,
            redirect_uri: REDIRECT,
            scope: 'openid profile email',
            nonce: 'n',
            code_challenge: challenge,
            code_challenge_method: 'S256',
            acr_values: 'urn:gatehouse:acr:impersonation',
          }).toString()}`,
        ),
      );
      expect(early).toBeUndefined();
      const consent = await last.text();
      const { location } = await browser.follow(
        await browser.post(FormBrowser.action(consent), {
          ...FormBrowser.fields(consent),
          decision: 'allow',
        }),
      );
      const tokens = await t.tokenRequest({
        grant_type: 'authorization_code',
        code: new URL(location ?? '').searchParams.get('code') ?? '',
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        client_id: app.clientId,
        client_secret: app.clientSecret ?? '',
      });
      expect(tokens.status).toBe(200);
      const idToken = decodeJwt(tokens.id_token ?? '');
      expect(idToken).toMatchObject({
        sub: userId,
        acr: 'urn:gatehouse:acr:impersonation',
        amr: ['impersonation'],
      });
      expect(idToken).toHaveProperty('act');
      expect(unlisted(idToken)).toEqual([]);
    });
  });
});
