/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** A tagged template whose interpolations are escaped unless wrapped with `raw()`. */
export class Raw {
  constructor(readonly html: string) {}
}
export const raw = (html: string): Raw => new Raw(html);

function fragment(value: unknown): string {
  if (value instanceof Raw) return value.html;
  if (value === null || value === undefined) return '';
  return escapeHtml(typeof value === 'string' ? value : JSON.stringify(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const piece = Array.isArray(value) ? value.map(fragment).join('') : fragment(value);
    out += piece + (strings[i + 1] ?? '');
  });
  return new Raw(out);
}

/** The page frame: plain server-rendered HTML that works without JavaScript. */
export function page(title: string, body: Raw): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Gatehouse</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
</head>
<body>
<main>
${body.html}
</main>
</body>
</html>
`;
}

export const STYLESHEET = `
:root { color-scheme: light dark; --accent: #1f5fbf; --muted: #666; --danger: #b3261e; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; padding: 2rem 1rem; }
main { max-width: 28rem; margin: 0 auto; }
.impersonation-banner { max-width: 40rem; margin: -1rem auto 1.5rem; padding: .75rem 1rem; border: 2px solid #b06000; border-radius: 6px; background: #fff4e0; color: #3d2400; display: flex; gap: 1rem; align-items: center; justify-content: space-between; flex-wrap: wrap; }
.impersonation-banner p { margin: 0; }
.warning { padding: .6rem .8rem; border-left: 4px solid #b06000; background: rgba(176, 96, 0, .08); }
.impersonation-banner button { width: auto; margin: 0; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
input[type=email], input[type=password], input[type=text] { width: 100%; padding: .6rem; font: inherit; border: 1px solid #888; border-radius: .4rem; }
button { margin-top: 1.25rem; padding: .6rem 1.2rem; font: inherit; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: inherit; border-color: #888; }
button:focus-visible, input:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.error { color: var(--danger); border-left: 4px solid var(--danger); padding-left: .75rem; }
.muted { color: var(--muted); font-size: .9rem; }
code, pre { font-family: ui-monospace, monospace; font-size: .85rem; }
pre { overflow-x: auto; padding: .75rem; border: 1px solid #8884; border-radius: .4rem; }
ul.scopes { padding-left: 1.2rem; }
.badge { display: inline-block; padding: 0 .4rem; border: 1px solid #b06000; border-radius: .3rem; color: #b06000; font-size: .8rem; font-weight: 600; }
ul.grants, ul.sessions { list-style: none; padding: 0; }
ul.grants > li, ul.sessions > li { padding: .5rem 0 1rem; border-bottom: 1px solid #8884; }
ul.grants > li p, ul.sessions > li p { margin: .25rem 0; }
ul.grants button, ul.sessions button { margin-top: .5rem; }
`;
