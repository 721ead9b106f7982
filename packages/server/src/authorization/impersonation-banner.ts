import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ENVIRONMENT_NAME } from '../storage/environments.js';
import { IMPERSONATION_COOKIE } from '../http/cookies.js';
import type { AppDeps } from '../http/deps.js';
import { html } from '../http/html.js';
import { currentImpersonation } from './impersonation.js';

const ENVIRONMENT_PAGE = /^\/e\/([^/?]+)\//;

/**
 * While an operator impersonates a user, every page Gatehouse shows in that environment says so
 * and offers to end it. Done once here, as pages are sent, so no page can forget it.
 */
export function registerImpersonationBanner(app: FastifyInstance, deps: AppDeps): void {
  // The banner's form needs a CSRF token whose cookie goes out with this very response; cookies
  // set as late as onSend are not sent, so the token is made when the request arrives.
  const tokens = new WeakMap<FastifyRequest, string>();
  app.addHook('onRequest', async (request, reply) => {
    if (request.cookies[IMPERSONATION_COOKIE] === undefined) return;
    if (request.method !== 'GET' || !ENVIRONMENT_PAGE.test(request.url)) return;
    tokens.set(request, reply.generateCsrf());
    await Promise.resolve();
  });
  app.addHook(
    'onSend',
    async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
      if (typeof payload !== 'string') return payload;
      if (request.cookies[IMPERSONATION_COOKIE] === undefined) return payload;
      if (!String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload;
      const env = ENVIRONMENT_PAGE.exec(request.url)?.[1];
      if (env === undefined || !ENVIRONMENT_NAME.test(env)) return payload;
      const environment = await deps.stores.environments.get(env);
      if (environment === undefined) return payload;
      const current = await currentImpersonation(deps, { environment, issuer: '' }, request);
      if (current === undefined) return payload;
      const banner = html`<div class="impersonation-banner" role="alert" id="impersonation-banner">
        <p>
          Signed in as <strong>${current.user.email}</strong> on behalf of operator
          <strong>${current.acting.operatorEmail}</strong> — until
          ${new Date(current.impersonation.expiresAt).toISOString().slice(11, 16)} UTC.
        </p>
        <form method="post" action="/e/${env}/impersonation/end">
          <input
            type="hidden"
            name="_csrf"
            value="${tokens.get(request) ?? reply.generateCsrf()}"
          />
          <button type="submit">End now</button>
        </form>
      </div>`;
      // A function, so `$&` and friends in the (escaped) emails are text, not replacement patterns.
      return payload.replace('<main>', () => `${banner.html}\n<main>`);
    },
  );
}
