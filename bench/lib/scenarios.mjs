// The scenarios, written once for every server. A target describes a server by what its discovery
// document says plus the bench client it was set up with; nothing here knows which server it is
// talking to, except the resource introspected (oidc-provider refuses to introspect JWTs, so it
// introspects an opaque token; Gatehouse has only JWT access tokens and verifies one).
import { CookieJar, pkcePool } from './load.mjs';

const FORM = 'application/x-www-form-urlencoded';
const PKCE = pkcePool(512);

/** What the scenarios need to know about a server, read from its discovery document. */
export function describeTarget(info, metadata) {
  const path = (url) => {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  };
  return {
    info,
    basic: `Basic ${Buffer.from(`${encodeURIComponent(info.clientId)}:${encodeURIComponent(info.clientSecret)}`).toString('base64')}`,
    paths: {
      metadata: path(`${info.issuer}/.well-known/openid-configuration`),
      authorize: path(metadata.authorization_endpoint),
      token: path(metadata.token_endpoint),
      introspect: path(metadata.introspection_endpoint),
      jwks: path(metadata.jwks_uri),
    },
  };
}

function expect(response, statuses, what) {
  if (!statuses.includes(response.status))
    throw new Error(`${what}: HTTP ${response.status} ${response.text.slice(0, 200)}`);
  return response;
}

function tokenRequest(user, target, form) {
  return user.request({
    method: 'POST',
    path: target.paths.token,
    headers: { authorization: target.basic, 'content-type': FORM },
    body: new URLSearchParams(form).toString(),
  });
}

function authorizeQuery(target, { challenge, scope, prompt, redirectUri }) {
  return new URLSearchParams({
    response_type: 'code',
    client_id: target.info.clientId,
    redirect_uri: redirectUri ?? target.info.redirectUri,
    scope,
    resource: target.info.resource,
    state: 'bench-state',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(prompt === undefined ? {} : { prompt }),
  }).toString();
}

/**
 * A browser's way through /authorize: follows redirects within the server (the peer's automated
 * sign-in), keeping cookies, until the server sends it to the client's redirect URI.
 */
async function authorizeInBrowser(user, target, options) {
  const jar = user.state.jar;
  let path = `${target.paths.authorize}?${authorizeQuery(target, options)}`;
  for (let hop = 0; hop < 10; hop++) {
    const response = await user.request({ path, headers: { cookie: jar.header() } });
    jar.store(response.headers);
    const location = response.headers.location;
    if (location === undefined) throw new Error(`authorize: HTTP ${response.status}, no redirect`);
    if (location.startsWith(target.info.redirectUri)) return codeFrom(location);
    const next = new URL(location, target.info.url);
    path = next.pathname + next.search;
  }
  throw new Error('authorize: too many redirects');
}

function codeFrom(location) {
  const params = new URL(location).searchParams;
  const code = params.get('code');
  if (code === null) throw new Error(`authorize: no code in ${location.slice(0, 200)}`);
  return code;
}

async function redeem(user, target, code, verifier) {
  const response = expect(
    await tokenRequest(user, target, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: target.info.redirectUri,
      code_verifier: verifier,
    }),
    [200],
    'token (authorization_code)',
  );
  return JSON.parse(response.text);
}

/** Every virtual user starts signed in: Gatehouse's are given a session, the peer signs in here. */
async function signIn(user, target) {
  user.state.jar = new CookieJar(
    target.info.sessionCookies.length === 0
      ? []
      : [target.info.sessionCookies[user.index % target.info.sessionCookies.length]],
  );
  const { verifier, challenge } = PKCE[user.index % PKCE.length];
  const code = await authorizeInBrowser(user, target, { challenge, scope: 'openid reports:read' });
  await redeem(user, target, code, verifier);
  user.state.cookie = user.state.jar.header();
  user.state.turn = user.index;
}

export const SCENARIOS = [
  {
    name: 'client_credentials',
    unit: 'req',
    async operation(user, target) {
      const response = expect(
        await tokenRequest(user, target, {
          grant_type: 'client_credentials',
          scope: target.info.scope,
          resource: target.info.resource,
        }),
        [200],
        'token (client_credentials)',
      );
      if (!response.text.includes('"access_token"')) throw new Error('no access token');
    },
  },
  {
    name: 'code flow (authorize + token)',
    unit: 'flow',
    prepare: signIn,
    async operation(user, target) {
      const { verifier, challenge } = PKCE[user.state.turn++ % PKCE.length];
      const authorize = await user.request({
        path: `${target.paths.authorize}?${authorizeQuery(target, { challenge, scope: 'openid reports:read' })}`,
        headers: { cookie: user.state.cookie },
      });
      expect(authorize, [302, 303], 'authorize');
      const tokens = await redeem(user, target, codeFrom(authorize.headers.location), verifier);
      if (tokens.access_token === undefined || tokens.id_token === undefined)
        throw new Error('the code flow gave no access token or ID token');
    },
  },
  {
    name: 'refresh-token rotation',
    unit: 'req',
    async prepare(user, target) {
      await signIn(user, target);
      const { verifier, challenge } = PKCE[(user.index + 1) % PKCE.length];
      const code = await authorizeInBrowser(user, target, {
        challenge,
        scope: 'openid offline_access reports:read',
        prompt: 'consent',
      });
      const tokens = await redeem(user, target, code, verifier);
      if (tokens.refresh_token === undefined) throw new Error('no refresh token to rotate');
      user.state.refreshToken = tokens.refresh_token;
    },
    async operation(user, target) {
      const response = expect(
        await tokenRequest(user, target, {
          grant_type: 'refresh_token',
          refresh_token: user.state.refreshToken,
        }),
        [200],
        'token (refresh_token)',
      );
      const tokens = JSON.parse(response.text);
      if (tokens.refresh_token === undefined || tokens.refresh_token === user.state.refreshToken)
        throw new Error('the refresh token was not rotated');
      user.state.refreshToken = tokens.refresh_token;
    },
  },
  {
    name: 'introspection',
    unit: 'req',
    async prepare(user, target) {
      const response = expect(
        await tokenRequest(user, target, {
          grant_type: 'client_credentials',
          scope: target.info.scope,
          resource: target.info.introspectResource ?? target.info.resource,
        }),
        [200],
        'token (client_credentials)',
      );
      user.state.accessToken = JSON.parse(response.text).access_token;
    },
    async operation(user, target) {
      const response = expect(
        await user.request({
          method: 'POST',
          path: target.paths.introspect,
          headers: { authorization: target.basic, 'content-type': FORM },
          body: new URLSearchParams({
            token: user.state.accessToken,
            token_type_hint: 'access_token',
          }).toString(),
        }),
        [200],
        'introspect',
      );
      if (!response.text.includes('"active":true')) throw new Error('the token was not active');
    },
  },
  {
    name: 'metadata',
    unit: 'req',
    async operation(user, target) {
      expect(await user.request({ path: target.paths.metadata }), [200], 'metadata');
    },
  },
  {
    name: 'JWKS',
    unit: 'req',
    async operation(user, target) {
      expect(await user.request({ path: target.paths.jwks }), [200], 'jwks');
    },
  },
  {
    name: 'refused redirect URI (error page)',
    unit: 'req',
    async operation(user, target) {
      const query = authorizeQuery(target, {
        challenge: PKCE[0].challenge,
        scope: 'openid reports:read',
        redirectUri: 'https://app.bench.test.evil.example/callback',
      });
      const response = expect(
        await user.request({
          path: `${target.paths.authorize}?${query}`,
          headers: { accept: 'text/html' },
        }),
        [400],
        'authorize (refused redirect)',
      );
      if (response.headers.location !== undefined) throw new Error('a refused URI was redirected');
    },
  },
];
