/**
 * An operator's request that cannot be carried out as asked (an unknown environment, a refused
 * redirect URI, a taken email). The message is one line for a person; nothing was changed.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    message: string,
    /** A stable code for scripts (`unknown_environment`, `redirect_uri_refused`, ...). */
    readonly code: string,
    /** Per-item detail, such as each refused redirect URI with the policy's code and message. */
    readonly details: readonly Record<string, unknown>[] = [],
  ) {
    super(message);
  }
}
