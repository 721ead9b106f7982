import type { RedirectUriDiff } from '@gatehouse/redirect-policy';
import { printable, type Style } from './text.js';

/**
 * The request above the URI it would have had to be, with a caret under the first difference:
 *
 *   requested  https://app.example.com/callback/
 *   expected   https://app.example.com/callback
 *                                              ^ path: trailing slash
 */
export function renderDiff(
  requested: string,
  closest: string,
  diff: RedirectUriDiff,
  style: Style,
): string[] {
  // The caret must sit under the escaped text, so measure the escaped prefix.
  const column = printable(requested.slice(0, diff.index)).length;
  const label = (text: string): string => text.padEnd(11);
  const lines = [
    `  ${label('requested')}${printable(requested.slice(0, diff.index))}${style.red(printable(requested.slice(diff.index)))}`,
    `  ${label('expected')}${printable(diff.expected.slice(0, diff.index))}${style.green(printable(diff.expected.slice(diff.index)))}`,
    `  ${label('')}${' '.repeat(column)}${style.yellow(`^ ${diff.component}: ${diff.kind}`)}`,
  ];
  if (diff.expected !== closest) {
    lines.push(
      `  ${label('registered')}${printable(closest)}${style.dim(explainExpected(closest, diff))}`,
    );
  }
  return lines;
}

function explainExpected(closest: string, diff: RedirectUriDiff): string {
  if (closest.startsWith('https://*.')) return '  (the wildcard stands for one label)';
  if (diff.expected.length !== closest.length) return '  (a loopback redirect accepts any port)';
  return '';
}
