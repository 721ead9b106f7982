// Starts oidc-provider (the peer), configured for the same work as Gatehouse, and prints what the
// load generator needs as one JSON line. Run by server.bench.mjs as a child process.
//
// Same work: ES256 for ID tokens and JWT access tokens (RFC 9068) for the bench API, PKCE required
// for every client, a confidential client with client_secret_basic, refresh tokens rotated on every
// use, and no consent page for the first-party client. Its interaction pages are replaced by an
// automated step: /interaction/:uid signs the bench user in and grants what was asked, with no HTML.
// State stays in the provider's in-memory adapter (its default); Gatehouse persists everything.
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench' };
const secret = 'bench-secret-bench-secret-bench-secret-bench';
const clientId = 'bench';
const redirectUri = 'https://app.bench.test/callback';
const api = 'https://api.bench.test';
// oidc-provider refuses to introspect JWTs, so the introspection scenario uses an opaque token
// issued for this second resource.
const opaqueApi = 'https://opaque.bench.test';
const accountId = 'bench-user';

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  clients: [
    {
      client_id: clientId,
      client_secret: secret,
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
  pkce: { required: () => true },
  findAccount: (_ctx, sub) => ({
    accountId: sub,
    claims: () => ({ sub, email: 'bench@example.com', name: 'Bench' }),
  }),
  // The automated login step, in place of the interaction pages.
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // A first-party client: the grant covers what it may ask for, so no consent page is shown.
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(api, 'reports:read');
    grant.addResourceScope(opaqueApi, 'reports:read');
    await grant.save();
    return grant;
  },
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => api,
      getResourceServerInfo(_ctx, resource) {
        if (resource === api)
          return {
            scope: 'reports:read',
            audience: api,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        if (resource === opaqueApi)
          return { scope: 'reports:read', audience: opaqueApi, accessTokenFormat: 'opaque' };
        throw new errors.InvalidTarget();
      },
      useGrantedResource: () => true,
    },
  },
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    IdToken: 600,
    AuthorizationCode: 60,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    Session: 8 * 3600,
    Interaction: 600,
  },
});

async function automatedInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({
        accountId: details.session.accountId,
        clientId: details.params.client_id,
      });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { consent: { grantId } },
    { mergeWithLastSubmission: true },
  );
}

const handle = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    automatedInteraction(req, res).catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
    return;
  }
  void handle(req, res);
});
process.stdout.write(
  `${JSON.stringify({
    pid: process.pid,
    url: issuer,
    issuer,
    clientId,
    clientSecret: secret,
    redirectUri,
    resource: api,
    introspectResource: opaqueApi,
    scope: 'reports:read',
    sessionCookies: [],
  })}\n`,
);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
