import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Where a form on this response's page may lead besides this origin: the redirect URI of the
 * authorization request the page answers. `form-action` is enforced on the redirects that follow
 * a form submission too (Chromium blocks a sign-in or consent POST whose 303 leaves the allowed
 * sources), and those forms end with a 303 to the client's redirect URI.
 */
const formRedirects = new WeakMap<FastifyRequest, string>();

/**
 * The CSP source for a redirect URI: its origin for http(s), its scheme for a private-use scheme
 * (`com.example.app:`). CSP has no syntax for an IPv6 literal host, so `http://[::1]:port` can
 * only be allowed as `http:`. Anything else allows nothing more than 'self'.
 */
export function formActionSource(redirectUri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    return undefined;
  }
  if (url.protocol === 'https:' || url.protocol === 'http:') {
    if (url.hostname.startsWith('[')) return url.protocol;
    return /^https?:\/\/[a-z0-9.-]+(?::\d+)?$/.test(url.origin) ? url.origin : undefined;
  }
  return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? url.protocol : undefined;
}

/** Lets the forms of this request's page lead to `redirectUri` (the pending request's). */
export function allowFormRedirect(request: FastifyRequest, redirectUri: string): void {
  const source = formActionSource(redirectUri);
  if (source !== undefined) formRedirects.set(request, source);
}

/**
 * Headers on every response. Pages load only our stylesheet, may not be framed (clickjacking),
 * send no referrer (a code in a URL must not leak), and are never cached. Forms post only to this
 * origin, and lead on only to it or to the redirect URI of the request being answered, so markup
 * injected into a page cannot send a filled-in form (a password) anywhere else.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    const redirect = formRedirects.get(request);
    reply.header(
      'Content-Security-Policy',
      `default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'${redirect === undefined ? '' : ` ${redirect}`}`,
    );
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
    return payload;
  });
}
