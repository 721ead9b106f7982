/**
 * Characters that change how the text around them reads, or drive a terminal: C0 and C1
 * controls, line and paragraph separators, and the bidirectional controls. A right-to-left
 * override makes `\u202emoc.elgoog` read as "google.com"; an escape sequence can rewrite an
 * operator's terminal.
 */
export const UNSAFE_IN_SHOWN_TEXT =
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu;

/**
 * The text with each such character replaced by U+FFFD, visibly. For names stored before they
 * were checked (a client registered before the check of `services/client-name.ts` existed): they
 * are shown for what they are, never as the name they imitate.
 */
export function shownText(text: string): string {
  return text.replace(UNSAFE_IN_SHOWN_TEXT, '\ufffd');
}
