import { UNSAFE_IN_SHOWN_TEXT } from '../pages/shown-text.js';
import { InputError } from './input-error.js';

export const MAX_CLIENT_NAME_LENGTH = 100;

/** The name trimmed, or an `invalid_client_name` refusal saying why. */
export function checkClientName(raw: string): string {
  const name = raw.trim();
  if (name === '' || name.length > MAX_CLIENT_NAME_LENGTH)
    throw new InputError(
      `the client name must have 1 to ${MAX_CLIENT_NAME_LENGTH} characters`,
      'invalid_client_name',
    );
  // Shown to users on the consent and confirmation pages, and to operators in terminals.
  if (name.search(UNSAFE_IN_SHOWN_TEXT) !== -1)
    throw new InputError(
      'the client name must not contain control characters or bidirectional overrides (they change how the name reads on the consent page)',
      'invalid_client_name',
    );
  return name;
}
