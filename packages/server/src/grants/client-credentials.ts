import { InvalidScope, UnauthorizedClient } from '../errors.js';
import { OIDC_SCOPES, scopeList } from '../protocol.js';
import { acceptedResource, decideResource } from '../services/resources.js';
import { signAccessToken } from '../tokens/issue.js';
import type { GrantHandler } from './context.js';

/** grant_type=client_credentials (RFC 6749 §4.4), confidential clients only. */
export const clientCredentialsGrant: GrantHandler = async ({
  deps,
  requestEnv,
  client,
  params,
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
  const access = await signAccessToken(deps, {
    environment: requestEnv.environment.name,
    issuer: requestEnv.issuer,
    clientId: client.clientId,
    subject: client.clientId,
    userId: null,
    scope,
    resource,
  });
  // No row of its own (issue #15): the audit entry that records the token is durable first.
  await deps.stores.tokens.saveIssued(
    {},
    {
      at: deps.clock(),
      event: {
        environment: requestEnv.environment.name,
        type: 'token.issued',
        actor: `client:${client.clientId}`,
        clientId: client.clientId,
        data: { grant: 'client_credentials', jti: access.jti, scope: scope.join(' ') },
      },
    },
  );
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    scope: scope.join(' '),
  };
};
