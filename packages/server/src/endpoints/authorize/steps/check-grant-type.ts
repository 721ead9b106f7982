import { UnauthorizedClient } from '../../../errors.js';
import { clientOf, type AuthorizeState } from '../state.js';

/**
 * check-grant-type: RFC 6749 §4.1.2.1 unauthorized_client: the client must be registered for the
 * authorization code grant.
 */
export function checkGrantType(state: AuthorizeState): void {
  if (!clientOf(state).grantTypes.includes('authorization_code'))
    throw new UnauthorizedClient('this client may not use the authorization code grant');
}
