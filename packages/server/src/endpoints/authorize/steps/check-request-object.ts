import { InvalidRequest } from '../../../errors.js';
import type { AuthorizeState } from '../state.js';

/**
 * check-request-object: request objects (OIDC Core §6, RFC 9101) are not supported, and a request
 * that sends one is refused rather than served from its other parameters.
 */
export function checkRequestObject({ params }: AuthorizeState): void {
  if (params.request !== undefined || params.request_uri !== undefined)
    throw new InvalidRequest('request objects are not supported');
}
