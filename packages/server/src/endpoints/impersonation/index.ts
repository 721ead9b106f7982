import type { FastifyInstance } from 'fastify';
import { IMPERSONATION_COOKIE } from '../../http/cookies.js';
import { csrfChecked } from '../../http/csrf.js';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { html, page } from '../../http/html.js';
import { endImpersonation } from '../../services/impersonation.js';
import { currentImpersonation } from '../../authorization/impersonation.js';

/**
 * The "end now" button of the impersonation banner. It ends the impersonation this browser
 * carries, which revokes every token issued during it, whatever page it is pressed on.
 */
export function impersonationEndpoints(app: FastifyInstance, deps: AppDeps): void {
  app.post('/e/:env/impersonation/end', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const current = await currentImpersonation(deps, requestEnv, request);
    reply.clearCookie(IMPERSONATION_COOKIE, { path: `/e/${requestEnv.environment.name}` });
    if (current !== undefined) {
      await endImpersonation(
        {
          stores: deps.stores,
          clock: deps.clock,
          actor: `operator:${current.acting.operatorId}`,
        },
        requestEnv.environment.name,
        current.impersonation.id,
        'ended',
      );
    }
    return reply.type('text/html; charset=utf-8').send(
      page(
        'Impersonation ended',
        html`<h1>Impersonation ended</h1>
          <p role="status">
            ${
              current === undefined
                ? 'No impersonation was running in this browser.'
                : 'The impersonation has ended and every token issued during it is revoked.'
            }
          </p>
          <p><a href="/admin/">Back to the console</a></p>`,
      ),
    );
  });
}
