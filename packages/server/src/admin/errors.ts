import type { InputError } from '../services/input-error.js';

/** The admin API's error body; its own shape, not RFC 6749's (`message` is for a person). */
export interface AdminErrorBody {
  readonly error: string;
  readonly message: string;
  readonly details?: unknown;
}

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

  json(): AdminErrorBody {
    return {
      error: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** A service's refusal, as the API answers it: the refusal's code carries its status. */
export function fromInputError(error: InputError): AdminError {
  return new AdminError(
    error.status,
    error.code,
    error.message,
    error.details.length === 0 ? undefined : error.details,
  );
}
