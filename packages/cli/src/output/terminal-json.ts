/**
 * JSON for a terminal: JSON.stringify leaves DEL, the C1 controls (8-bit CSI, OSC: a terminal may
 * act on them) and bidirectional overrides raw, and the email and subject are the server's text.
 * Escaped as \uXXXX they parse back to the same strings.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
