/**
 * The error catalogue: each error's code, status and redirectability, and its three renderings
 * (the RFC 6749 §5.2 JSON body, the `WWW-Authenticate` challenge, the page). The challenge must
 * stay one well-formed RFC 9110 §11.6.1 challenge whatever the description holds (RFC 6750 §3).
 */
import { validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from '../../resource/test/support/challenge-parser.js';
import { fromInputError } from '../src/admin/errors.js';
import {
  AccessDenied,
  AuthorizationPending,
  BearerTokenRequired,
  ConsentRequired,
  ExpiredToken,
  InsufficientScope,
  InteractionRequired,
  InvalidClient,
  InvalidGrant,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  InvalidToken,
  LoginRequired,
  OAuthError,
  RegistrationError,
  ServerError,
  SlowDown,
  TemporarilyUnavailable,
  UnauthorizedClient,
  UnsafeAuthorizationRequest,
  UnsupportedGrantType,
  UnsupportedResponseType,
} from '../src/errors.js';
import { errorPage } from '../src/pages/pages.js';
import { InputError } from '../src/services/input-error.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const ISSUER = 'https://auth.example.com/e/development';
/** RFC 6750 §3: the characters error_description may hold. */
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
/** Strings of any characters, control characters, quotes, backslashes and emoji included. */
const anyText = fc.string({ unit: 'binary', maxLength: 60 });

describe('the catalogue', () => {
  it.each([
    [new InvalidRequest('d'), 'invalid_request', 400, true],
    [new InvalidClient('d'), 'invalid_client', 401, false],
    [new InvalidGrant('d'), 'invalid_grant', 400, false],
    [new UnauthorizedClient('d'), 'unauthorized_client', 400, true],
    [new UnsupportedGrantType('d'), 'unsupported_grant_type', 400, false],
    [new UnsupportedResponseType('d'), 'unsupported_response_type', 400, true],
    [new InvalidScope('d'), 'invalid_scope', 400, true],
    [new InvalidTarget('d'), 'invalid_target', 400, true],
    [new AccessDenied('d'), 'access_denied', 403, true],
    [new LoginRequired('d'), 'login_required', 400, true],
    [new ConsentRequired('d'), 'consent_required', 400, true],
    [new InteractionRequired('d'), 'interaction_required', 400, true],
    [new TemporarilyUnavailable('d', 3), 'temporarily_unavailable', 429, true],
    [new InvalidToken('d'), 'invalid_token', 401, false],
    [new InsufficientScope('d'), 'insufficient_scope', 403, false],
    [new RegistrationError('invalid_redirect_uri', 'd'), 'invalid_redirect_uri', 400, false],
    [new RegistrationError('invalid_client_metadata', 'd'), 'invalid_client_metadata', 400, false],
    [new UnsafeAuthorizationRequest('d'), 'invalid_request', 400, false],
  ] as const)('%s: %s, %i, redirectable %s', (error, code, status, redirectable) => {
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.redirectable).toBe(redirectable);
    expect(error.message).toBe('d');
    expect(error.name).toBe(error.constructor.name);
    expect(error.json()).toStrictEqual({ error: code, error_description: 'd' });
    expect(error.headers(undefined)['Cache-Control']).toBe('no-store');
  });

  it('the errors with fixed descriptions (RFC 8628 §3.5, a 500 that exposes nothing)', () => {
    expect(new ServerError().json()).toStrictEqual({
      error: 'server_error',
      error_description: 'the server could not complete the request',
    });
    expect(new ServerError().status).toBe(500);
    expect(new AuthorizationPending().json().error).toBe('authorization_pending');
    expect(new SlowDown().json().error).toBe('slow_down');
    expect(new ExpiredToken().json().error).toBe('expired_token');
    expect(new BearerTokenRequired().json()).toStrictEqual({
      error: 'invalid_request',
      error_description: 'a Bearer access token is required',
    });
    expect(new BearerTokenRequired().status).toBe(401);
  });
});

describe('challenges', () => {
  it('invalid_client: a Basic challenge only for a client that tried Basic (RFC 6749 §5.2)', () => {
    const error = new InvalidClient();
    expect(error.challenge('Basic Zm9vOmJhcg==')).toBe('Basic realm="gatehouse"');
    expect(error.challenge('basic Zm9vOmJhcg==')).toBe('Basic realm="gatehouse"');
    expect(error.challenge(undefined)).toBeUndefined();
    expect(error.challenge('Bearer abc')).toBeUndefined();
    expect(error.headers('Basic Zm9vOmJhcg==')).toStrictEqual({
      'WWW-Authenticate': 'Basic realm="gatehouse"',
      'Cache-Control': 'no-store',
    });
    expect(error.headers(undefined)).toStrictEqual({ 'Cache-Control': 'no-store' });
  });

  it('Bearer errors: realm when given, the code and the description (RFC 6750 §3)', () => {
    expect(new InvalidToken(undefined, { realm: ISSUER }).challenge()).toBe(
      `Bearer realm="${ISSUER}", error="invalid_token", error_description="the access token is invalid, expired or revoked"`,
    );
    expect(
      new InsufficientScope('the openid scope is required', { realm: ISSUER }).challenge(),
    ).toBe(
      `Bearer realm="${ISSUER}", error="insufficient_scope", error_description="the openid scope is required"`,
    );
    expect(new InvalidToken('no such token').challenge()).toBe(
      'Bearer error="invalid_token", error_description="no such token"',
    );
  });

  it('no token at all: the realm and no error code (RFC 6750 §3.1)', () => {
    expect(new BearerTokenRequired({ realm: ISSUER }).challenge()).toBe(`Bearer realm="${ISSUER}"`);
    expect(new BearerTokenRequired().challenge()).toBe('Bearer');
  });

  it('a quote or backslash in a description cannot end the value or add a parameter', () => {
    const header = new InvalidToken('bad "token", error="none" \\ end', {
      realm: ISSUER,
    }).challenge();
    expect(header).toBe(
      `Bearer realm="${ISSUER}", error="invalid_token", error_description="bad 'token', error='none' / end"`,
    );
    const { params } = parseChallenge(header);
    expect([...params.keys()]).toStrictEqual(['realm', 'error', 'error_description']);
    expect(params.get('error')).toBe('invalid_token');
  });

  it('any description gives one parseable challenge that reads back within RFC 6750 characters', () => {
    fc.assert(
      fc.property(anyText, (description) => {
        for (const error of [
          new InvalidToken(description, { realm: ISSUER }),
          new InsufficientScope(description, { realm: ISSUER }),
          new InvalidToken(description),
        ]) {
          const header = error.challenge();
          expect(() => {
            validateHeaderValue('www-authenticate', header);
          }).not.toThrow();
          const { scheme, params } = parseChallenge(header);
          expect(scheme).toBe('Bearer');
          expect(params.get('realm')).toBe(error.realm);
          expect(params.get('error')).toBe(error.code);
          expect(params.get('error_description')).toMatch(DESCRIPTION_CHARS);
          expect(params.get('error_description')).toHaveLength(Array.from(description).length);
          expect(params.size).toBe(error.realm === undefined ? 2 : 3);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('Retry-After on temporarily_unavailable (RFC 9110 §10.2.3)', () => {
    expect(new TemporarilyUnavailable('slow down', 7).headers(undefined)).toStrictEqual({
      'Cache-Control': 'no-store',
      'Retry-After': '7',
    });
  });
});

describe('pages', () => {
  const detail = {
    message: 'the redirect URI is not registered',
    requested: 'https://app.example.com/cb2',
    expected: 'https://app.example.com/cb',
    closest: 'https://app.example.com/cb',
    index: 26,
  };

  it('an unsafe request: the user message, the operator detail in development only', () => {
    const error = new UnsafeAuthorizationRequest('This sign-in link is not valid.', detail);
    expect(error.page(true)).toBe(
      errorPage('Sign-in stopped', 'This sign-in link is not valid.', detail),
    );
    expect(error.page(false)).toBe(errorPage('Sign-in stopped', 'This sign-in link is not valid.'));
    expect(error.page(true)).toContain('For the developer');
    expect(error.page(false)).not.toContain('For the developer');
    expect(error.userMessage).toBe(error.description);
  });

  it('any error as a page, its description escaped', () => {
    const page = new AccessDenied('<script>alert(1)</script>').page(true);
    expect(page).toContain('&lt;script&gt;');
    expect(page).not.toContain('<script>alert');
  });
});

describe('input errors: each code carries its admin API status', () => {
  it.each([
    ['forbidden', 403],
    ['unknown_client', 404],
    ['unknown_environment', 404],
    ['email_taken', 409],
    ['environment_exists', 409],
    ['impersonation_active', 409],
    ['resource_exists', 400],
    ['redirect_uri_refused', 400],
  ] as const)('%s: %i', (code, status) => {
    const error = new InputError('m', code, [{ uri: 'x' }]);
    expect(error.status).toBe(status);
    const admin = fromInputError(error);
    expect(admin.status).toBe(status);
    expect(admin.json()).toStrictEqual({ error: code, message: 'm', details: [{ uri: 'x' }] });
    expect(fromInputError(new InputError('m', code)).json()).toStrictEqual({
      error: code,
      message: 'm',
    });
  });
});

describe('on the wire', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('userinfo without a token: 401, the realm only (and DPoP algs, RFC 9449 §7.1), the invalid_request body', async () => {
    const response = await fetch(`${t.issuer('development')}/userinfo`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="${t.issuer('development')}", DPoP realm="${t.issuer('development')}", algs="ES256 RS256 PS256 EdDSA Ed25519"`,
    );
    expect(await response.json()).toStrictEqual({
      error: 'invalid_request',
      error_description: 'an access token is required (Bearer or DPoP)',
    });
  });

  it('userinfo with a bad token: 401, invalid_token, no-store', async () => {
    const response = await fetch(`${t.issuer('development')}/userinfo`, {
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="${t.issuer('development')}", error="invalid_token", error_description="the access token is invalid, expired or revoked"`,
    );
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toStrictEqual({
      error: 'invalid_token',
      error_description: 'the access token is invalid, expired or revoked',
    });
  });

  it('client management with a wrong registration token: the challenge has no realm', async () => {
    const response = await fetch(`${t.issuer('development')}/register/nobody`, {
      headers: { authorization: 'Bearer wrong' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token", error_description="the registration access token is not valid for this client"',
    );
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
});
