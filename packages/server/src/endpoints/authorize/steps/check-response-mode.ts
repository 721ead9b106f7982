import { InvalidRequest } from '../../../errors.js';
import type { AuthorizeState } from '../state.js';

/**
 * check-response-mode: OAuth 2.0 Multiple Response Type Encoding Practices §2.1: response_mode
 * says how the response is returned. Gatehouse advertises only `query`
 * (response_modes_supported), so any other (form_post, fragment, jwt, ...) is refused up front
 * instead of being answered in a mode the client did not ask for. Runs once the redirect URI is
 * trusted, so the error goes back to the client in the query, the one mode it can always read.
 */
export function checkResponseMode({ params }: AuthorizeState): void {
  const mode = params.response_mode;
  if (mode !== undefined && mode !== 'query')
    throw new InvalidRequest(`response_mode ${mode.slice(0, 40)} is not supported: only query`);
}
