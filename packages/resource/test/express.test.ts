/** The Express adapter, on Express 5 with its JSON body parser in front. */
import express from 'express';
import { metadataMiddleware, requireBearer } from '../src/express.js';
import { adapterContract, authSummary } from './support/adapter-contract.js';

adapterContract(
  'Express',
  (server, { resourceServer, broken, onError }) => {
    const app = express();
    app.use(metadataMiddleware(resourceServer));
    app.use(express.json());
    const auth = requireBearer(resourceServer);
    app.get('/mcp', auth, (req, res) => {
      res.json(authSummary(req.auth));
    });
    app.post('/mcp', auth, (req, res) => {
      res.json(authSummary(req.auth));
    });
    app.get(
      '/mcp/admin',
      requireBearer(resourceServer, { requiredScopes: ['mcp:admin'] }),
      (req, res) => {
        res.json(authSummary(req.auth));
      },
    );
    app.get('/broken', requireBearer(broken, { onError }), (req, res) => {
      res.json(authSummary(req.auth));
    });
    server.on('request', app);
    return Promise.resolve({ close: () => Promise.resolve() });
  },
  { parsesBody: true },
);
