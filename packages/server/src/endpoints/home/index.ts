import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../http/deps.js';
import { issuerOf } from '../../http/deps.js';
import { html, page, STYLESHEET } from '../../http/html.js';

/** The root page: which issuers this server runs, and the stylesheet every page uses. */
export function homeEndpoints(app: FastifyInstance, deps: AppDeps): void {
  app.get('/', async (_request, reply) => {
    const environments = await deps.stores.environments.list();
    const rows = environments.map(
      (e) =>
        html`<li>
          <strong>${e.name}</strong> (${e.tier})<br /><code>${issuerOf(deps, e.name)}</code><br /><a
            href="/e/${e.name}/.well-known/openid-configuration"
            >discovery document</a
          >
        </li>`,
    );
    return reply.type('text/html; charset=utf-8').send(
      page(
        'Gatehouse',
        html`<h1>Gatehouse</h1>
          <p>One issuer per environment:</p>
          <ul>
            ${rows}
          </ul>`,
      ),
    );
  });
  app.get('/assets/gatehouse.css', async (_request, reply) =>
    reply
      .header('Cache-Control', 'public, max-age=3600')
      .type('text/css; charset=utf-8')
      .send(STYLESHEET),
  );
}
