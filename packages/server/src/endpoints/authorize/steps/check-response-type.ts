import { InvalidRequest, UnsupportedResponseType } from '../../../errors.js';
import type { AuthorizeState } from '../state.js';

/**
 * check-response-type: RFC 6749 §3.1.1 and OAuth 2.1 §4.1.1: response_type is REQUIRED, and
 * Gatehouse serves only the authorization code flow (`code`).
 */
export function checkResponseType({ params }: AuthorizeState): void {
  if (params.response_type === undefined) throw new InvalidRequest('response_type is required');
  if (params.response_type !== 'code')
    throw new UnsupportedResponseType('only response_type=code is supported');
}
