import { DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT, type GrantType } from '../protocol.js';
import { deviceCodeGrant } from './device-code.js';
import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import type { GrantHandler } from './context.js';
import { refreshTokenGrant } from './refresh-token.js';
import { tokenExchangeGrant } from './token-exchange.js';

/** The token endpoint dispatches on grant_type through this map: one handler per GRANT_TYPES entry. */
export const GRANTS: Readonly<Record<GrantType, GrantHandler>> = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
  [DEVICE_CODE_GRANT]: deviceCodeGrant,
  [TOKEN_EXCHANGE_GRANT]: tokenExchangeGrant,
};
