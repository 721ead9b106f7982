import { createHash } from 'node:crypto';

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/**
 * The part of Gatehouse's page stylesheet (server/src/http/html.ts) that the result page uses,
 * so the browser's last step looks like the pages before it. It is inlined, not linked: the
 * listener closes once the page is served, and the kit runs against servers that are not
 * Gatehouse, so there is nowhere to fetch a stylesheet from. A Chromium test compares the
 * computed styles with a Gatehouse page, so the two do not drift apart unnoticed.
 */
const STYLESHEET = `
:root { color-scheme: light dark; --accent: #1f5fbf; --muted: #666; --danger: #b3261e; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; padding: 2rem 1rem; }
main { max-width: 28rem; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
.error { color: var(--danger); border-left: 4px solid var(--danger); padding-left: .75rem; }
.muted { color: var(--muted); font-size: .9rem; }
`;

/** CSP Level 2 hash source: the inline stylesheet above and nothing else may style the page. */
const STYLESHEET_HASH = `'sha256-${createHash('sha256').update(STYLESHEET).digest('base64')}'`;

/**
 * The page the browser lands on after the callback: no code, no token, no script, framed like
 * Gatehouse's hosted pages (title, one heading, the outcome, a muted note).
 */
export function resultPage(ok: boolean, detail: string): string {
  const title = ok ? 'Signed in' : 'Sign-in failed';
  const outcome = ok
    ? `<p id="detail">${escapeHtml(detail)}</p>`
    : `<p class="error" role="alert" id="detail">${escapeHtml(detail)}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Gatehouse</title>
<style>${STYLESHEET}</style>
</head>
<body>
<main>
<h1>${title}</h1>
${outcome}
<p class="muted">You can close this tab and return to the terminal.</p>
</main>
</body>
</html>
`;
}

export function strayPage(): string {
  return resultPage(
    false,
    'This page does not belong to the sign-in in progress. The sign-in is still waiting in the terminal.',
  );
}

/**
 * Framing and navigation limits for everything the listener answers. `default-src` covers
 * fetches only (no script runs; styles come only from the page's own inline stylesheet, allowed
 * by its hash): framing (`frame-ancestors`, and `X-Frame-Options` for older browsers), `<base>`
 * and form targets need their own directives, so no other site can frame the result page and
 * dress it up as something to click.
 */
export const FRAMING_HEADERS = {
  'content-security-policy': `default-src 'none'; style-src ${STYLESHEET_HASH}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
  'x-frame-options': 'DENY',
} as const;

/** Headers for every page the listener serves. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  ...FRAMING_HEADERS,
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;
