import { UnsafeAuthorizationRequest } from '../../../errors.js';
import { singleParams } from '../../../http/form.js';
import type { AuthorizeState } from '../state.js';

/**
 * read-parameters: the query, or the form body (OIDC Core §3.1.2.1 allows both), one value each.
 * RFC 6749 §3.1: parameters MUST NOT be repeated. Nothing is trusted yet, so a malformed link
 * is a page.
 */
export function readParameters(state: AuthorizeState): void {
  const { request } = state;
  try {
    state.params = singleParams(request.method === 'POST' ? request.body : request.query);
  } catch {
    throw new UnsafeAuthorizationRequest('This sign-in link is malformed.', {
      message: 'a parameter is repeated',
    });
  }
}
