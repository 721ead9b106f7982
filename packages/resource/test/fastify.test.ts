/**
 * The Fastify adapter: the plugin serves the document; hooks per route, `preHandler` where the
 * parsed body is checked too, `onRequest` elsewhere.
 */
import Fastify from 'fastify';
import { protectedResource, requireBearer } from '../src/fastify.js';
import { adapterContract, authSummary } from './support/adapter-contract.js';

adapterContract(
  'Fastify',
  async (server, { resourceServer, broken, onError }) => {
    const app = Fastify({
      serverFactory: (handler) => {
        server.on('request', handler);
        return server;
      },
    });
    await app.register(protectedResource, { resourceServer });
    const summary = (request: { auth?: Parameters<typeof authSummary>[0] }) =>
      authSummary(request.auth);
    app.get('/mcp', { onRequest: requireBearer(resourceServer) }, (request) => summary(request));
    app.post('/mcp', { preHandler: requireBearer(resourceServer) }, (request) => summary(request));
    app.get(
      '/mcp/admin',
      { onRequest: requireBearer(resourceServer, { requiredScopes: ['mcp:admin'] }) },
      (request) => summary(request),
    );
    app.get('/broken', { onRequest: requireBearer(broken, { onError }) }, (request) =>
      summary(request),
    );
    await app.ready();
    return { close: () => app.close() };
  },
  { parsesBody: true },
);
