import { scopeList } from '../../../protocol.js';
import { acceptedResource, decideResource } from '../../../services/resources.js';
import { clientOf, type AuthorizeState } from '../state.js';

/**
 * check-scope-and-resource: RFC 8707 §2: the resource must be one this environment and client
 * allow (invalid_target); RFC 6749 §3.3: the scopes must be the user's or that resource's
 * (invalid_scope). Checked together, as which scopes exist depends on the resource.
 */
export async function checkScopeAndResource(state: AuthorizeState): Promise<void> {
  const { deps, requestEnv, params } = state;
  const scope = scopeList(params.scope);
  const resource = params.resource ?? null;
  acceptedResource(
    await decideResource(
      deps.stores,
      requestEnv.environment.name,
      clientOf(state),
      resource,
      scope,
    ),
  );
  state.scope = scope;
  state.resource = resource;
}
