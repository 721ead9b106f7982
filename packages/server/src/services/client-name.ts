import { InputError } from './input-error.js';

/**
 * Characters a client name may not hold: C0 and C1 controls, line and paragraph separators, and
 * the bidirectional controls. A name is shown to users on the consent and confirmation pages and
 * to operators in the console, reports and terminals; a right-to-left override makes
 * `\u202emoc.elgoog` read as "google.com", and a control sequence can drive a terminal.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

export const MAX_CLIENT_NAME_LENGTH = 100;

/** The name trimmed, or an `invalid_client_name` refusal saying why. */
export function checkClientName(raw: string): string {
  const name = raw.trim();
  if (name === '' || name.length > MAX_CLIENT_NAME_LENGTH)
    throw new InputError(
      `the client name must have 1 to ${MAX_CLIENT_NAME_LENGTH} characters`,
      'invalid_client_name',
    );
  if (UNSAFE_IN_NAME.test(name))
    throw new InputError(
      'the client name must not contain control characters or bidirectional overrides (they change how the name reads on the consent page)',
      'invalid_client_name',
    );
  return name;
}
