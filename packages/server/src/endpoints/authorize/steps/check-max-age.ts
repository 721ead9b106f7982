import { InvalidRequest } from '../../../errors.js';
import type { AuthorizeState } from '../state.js';

/** check-max-age: OIDC Core §3.1.2.1: the longest time since sign-in, in whole seconds. */
export function checkMaxAge(state: AuthorizeState): void {
  const maxAge = state.params.max_age;
  if (maxAge === undefined) return;
  if (!/^\d{1,9}$/.test(maxAge)) throw new InvalidRequest('max_age must be a number of seconds');
  state.maxAge = Number(maxAge);
}
