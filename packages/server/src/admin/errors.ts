import type { InputError } from '../services/input-error.js';

/** An admin API answer other than success: `{error, message, details?}` with an HTTP status. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const NOT_FOUND = /^unknown_/;
const CONFLICT = new Set(['email_taken', 'environment_exists', 'impersonation_active']);

/** A service's refusal, as the API answers it. */
export function fromInputError(error: InputError): AdminError {
  const status =
    error.code === 'forbidden'
      ? 403
      : NOT_FOUND.test(error.code)
        ? 404
        : CONFLICT.has(error.code)
          ? 409
          : 400;
  return new AdminError(
    status,
    error.code,
    error.message,
    error.details.length === 0 ? undefined : error.details,
  );
}
