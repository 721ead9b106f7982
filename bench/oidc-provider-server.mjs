// Starts oidc-provider, configured for the same work as Gatehouse (ES256, JWT access tokens for
// client_credentials), and prints what the load generator needs as one JSON line.
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench' };
const secret = 'bench-secret-bench-secret-bench-secret-bench';
const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  clients: [
    {
      client_id: 'bench',
      client_secret: secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:bench:api',
      getResourceServerInfo: () => ({
        scope: 'reports:read',
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
      useGrantedResource: () => true,
    },
  },
  ttl: { ClientCredentials: 600, AccessToken: 600 },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
});
const handle = provider.callback();
server.on('request', (req, res) => void handle(req, res));
process.stdout.write(
  `${JSON.stringify({ issuer, clientId: 'bench', clientSecret: secret, metadata: `${issuer}/.well-known/openid-configuration`, jwks: `${issuer}/jwks`, token: `${issuer}/token` })}\n`,
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
