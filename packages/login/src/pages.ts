function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** The page the browser lands on after the callback: no code, no token, text only. */
export function resultPage(ok: boolean, detail: string): string {
  const title = ok ? 'Signed in' : 'Sign-in failed';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head>
<body>
<h1>${title}</h1>
<p>${escapeHtml(detail)}</p>
<p>You can close this tab and return to the terminal.</p>
</body></html>`;
}

export function strayPage(): string {
  return resultPage(
    false,
    'This page does not belong to the sign-in in progress. The sign-in is still waiting in the terminal.',
  );
}

/**
 * Framing and navigation limits for everything the listener answers. `default-src` covers
 * fetches only: framing (`frame-ancestors`, and `X-Frame-Options` for older browsers), `<base>`
 * and form targets need their own directives, so no other site can frame the result page and
 * dress it up as something to click.
 */
export const FRAMING_HEADERS = {
  'content-security-policy':
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
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
