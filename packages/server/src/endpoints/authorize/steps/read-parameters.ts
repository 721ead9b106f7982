import { UnsafeAuthorizationRequest } from '../../../errors.js';
import { formParams, singleParams } from '../../../http/form.js';
import type { AuthorizeState } from '../state.js';

/**
 * read-parameters: the query, or the form body (OIDC Core §3.1.2.1 allows both; a POST "MUST use
 * Form Serialization", so a body of any other type, JSON above all, is refused rather than read),
 * one value each. RFC 6749 §3.1: parameters MUST NOT be repeated. Nothing is trusted yet, so a
 * malformed request is a page.
 */
export function readParameters(state: AuthorizeState): void {
  const { request } = state;
  if (request.method === 'POST') {
    try {
      state.params = formParams(request);
    } catch (error) {
      throw new UnsafeAuthorizationRequest('This sign-in request is malformed.', {
        message: error instanceof Error ? error.message : 'malformed body',
      });
    }
    return;
  }
  try {
    state.params = singleParams(request.query);
  } catch {
    throw new UnsafeAuthorizationRequest('This sign-in link is malformed.', {
      message: 'a parameter is repeated',
    });
  }
}
