/**
 * Scopes: RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). The same grammar is what
 * makes a list of them safe inside a quoted `scope="..."` challenge parameter (RFC 6750 §3).
 */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** A developer's list of scopes (required or supported): each must be a scope-token. */
export function checkScopes(scopes: readonly string[], option: string): readonly string[] {
  for (const scope of scopes) {
    if (!isScopeToken(scope))
      throw new TypeError(
        `${option} must hold scope tokens (RFC 6749 §3.3): ${JSON.stringify(scope)}`,
      );
  }
  return Object.freeze([...new Set(scopes)]);
}

/** The `scope` claim (RFC 9068 §2.2.3, RFC 8693 §4.2): space-separated; absent means none. */
export function parseScopeClaim(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  if (typeof value !== 'string') return undefined;
  return value.split(' ').filter((s) => s !== '');
}

/** The required scopes the granted ones lack, in the order they were required. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  const have = new Set(granted);
  return required.filter((scope) => !have.has(scope));
}
