// The floor: the least any Fastify server must do for a client_credentials request, with nothing
// of an authorization server's own work. It parses the form and the Basic header, compares the
// secret, signs one ES256 JWT access token with node:crypto and answers JSON. No client lookup,
// no storage, no audit, no checks of scope or resource. Run by server.bench.mjs as a child
// process, for the client_credentials scenario only: Gatehouse's throughput can approach this,
// never pass it, so it shows what ratio to the peer this stack allows at all.
import { randomUUID, generateKeyPairSync, sign, timingSafeEqual } from 'node:crypto';
import fastifyFormbody from '@fastify/formbody';
import Fastify from 'fastify';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const clientId = 'floor';
const clientSecret = 'floor-secret-floor-secret-floor-secret-floor';
const resource = 'https://api.bench.test';
const app = Fastify({ logger: false });
await app.register(fastifyFormbody);
const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'floor' })).toString(
  'base64url',
);
const expected = Buffer.from(`${clientId}:${clientSecret}`);

let issuer = '';
app.get('/.well-known/openid-configuration', async () => ({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  introspection_endpoint: `${issuer}/introspect`,
  jwks_uri: `${issuer}/jwks`,
}));
app.post('/token', async (request, reply) => {
  const presented = Buffer.from((request.headers.authorization ?? '').slice(6), 'base64');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected))
    return reply.code(401).send({ error: 'invalid_client' });
  const body = request.body;
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub: clientId,
    aud: body.resource,
    client_id: clientId,
    scope: body.scope,
    iat,
    exp: iat + 600,
    jti: randomUUID(),
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return reply.header('Cache-Control', 'no-store').send({
    access_token: `${input}.${signature.toString('base64url')}`,
    token_type: 'Bearer',
    expires_in: 600,
  });
});

await app.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${app.server.address().port}`;
issuer = url;
process.stdout.write(
  `${JSON.stringify({ pid: process.pid, url, issuer, clientId, clientSecret, resource, scope: 'reports:read' })}\n`,
);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
