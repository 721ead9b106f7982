/** The node:http adapter: a server written on `http.createServer` alone. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metadataHandler, requireBearer } from '../src/node.js';
import { adapterContract, authSummary } from './support/adapter-contract.js';

adapterContract(
  'node:http',
  (server, { resourceServer, broken, onError }) => {
    const serveMetadata = metadataHandler(resourceServer);
    const routes: Record<string, ReturnType<typeof requireBearer>> = {
      '/mcp': requireBearer(resourceServer),
      '/mcp/admin': requireBearer(resourceServer, { requiredScopes: ['mcp:admin'] }),
      '/broken': requireBearer(broken, { onError }),
    };
    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      if (serveMetadata(req, res)) return;
      const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
      if (route === undefined) {
        res.writeHead(404).end();
        return;
      }
      const auth = await route(req, res);
      if (auth === undefined) return; // refused, and answered
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(authSummary(auth)));
    };
    server.on('request', (req, res) => void handle(req, res));
    return Promise.resolve({ close: () => Promise.resolve() });
  },
  { parsesBody: false },
);
