import { InvalidScope, UnauthorizedClient } from '../errors.js';
import { OIDC_SCOPES, scopeList } from '../protocol.js';
import { jtiBlocks } from '../services/jti-blocks.js';
import { acceptedResource, decideResource } from '../services/resources.js';
import { signAccessToken } from '../tokens/issue.js';
import { tokenTypeOf, type GrantHandler } from './context.js';

/** grant_type=client_credentials (RFC 6749 §4.4), confidential clients only. */
export const clientCredentialsGrant: GrantHandler = async ({
  deps,
  requestEnv,
  client,
  params,
  dpop,
}) => {
  if (client.type !== 'web')
    throw new UnauthorizedClient('client_credentials needs a confidential (web) client');
  const scope = scopeList(params.scope);
  // The OIDC scopes only make sense with a user behind them.
  const userScopes = scope.filter((s) => OIDC_SCOPES.includes(s));
  if (userScopes.length > 0)
    throw new InvalidScope(
      `client_credentials has no user: ${userScopes.join(' ')} cannot be granted`,
    );
  const resource = params.resource ?? null;
  if (resource === null) {
    // Without a resource, only the scopes the client is registered for (RFC 6749 §3.3: the server
    // "MAY fully or partially ignore the scope requested"; Gatehouse refuses instead of narrowing
    // silently). A client registered for none gets no scope at all.
    const unregistered = scope.filter((s) => !client.scopes.includes(s));
    if (unregistered.length > 0)
      throw new InvalidScope(
        `this client is not registered for the scope ${unregistered.join(' ')}`,
      );
  } else {
    // With a resource, its registration decides (RFC 8707).
    acceptedResource(
      await decideResource(deps.stores, requestEnv.environment.name, client, resource, scope, {
        userScopesAllowed: false,
      }),
    );
  }
  // No write per token (issue #15): the jti comes from a block whose reservation is already
  // durable in the audit log (services/jti-blocks.ts), so the log accounts for this token
  // before it leaves the server.
  const jti = await jtiBlocks(deps.stores.audit, deps.clock).next({
    environment: requestEnv.environment.name,
    clientId: client.clientId,
    scope,
    resource,
  });
  const access = await signAccessToken(deps, {
    environment: requestEnv.environment.name,
    issuer: requestEnv.issuer,
    clientId: client.clientId,
    subject: client.clientId,
    userId: null,
    jti,
    scope,
    resource,
    // RFC 9449 §5: bound to the proof's key when the request carried one.
    ...(dpop === undefined ? {} : { dpopJkt: dpop.jkt }),
  });
  return {
    access_token: access.token,
    token_type: tokenTypeOf(dpop?.jkt),
    expires_in: access.expiresIn,
    scope: scope.join(' '),
  };
};
