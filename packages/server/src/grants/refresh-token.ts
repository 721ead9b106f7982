import { sha256 } from '../crypto/random.js';
import { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget } from '../errors.js';
import { scopeList } from '../protocol.js';
import { actingForGrant, auditImpersonatedIssue, issueUserTokens } from './user-tokens.js';
import type { GrantHandler } from './context.js';
import {
  refreshRefusal,
  type RefreshPresentation,
  type RefreshRefusal,
  type RefreshToken,
} from '../storage/tokens.js';
import { recordRevocation } from '../services/revocation.js';
import type { Environment } from '../storage/environments.js';
import type { TokenDeps } from '../tokens/issue.js';
import { graceSuccessor } from './refresh-grace.js';

/** grant_type=refresh_token with rotation (RFC 6749 §6, RFC 9700 §4.14.2). */
export const refreshTokenGrant: GrantHandler = async ({
  deps,
  requestEnv,
  client,
  params,
  dpop,
}) => {
  const env = requestEnv.environment.name;
  if (params.refresh_token === undefined) throw new InvalidRequest('refresh_token is required');
  const tokenHash = sha256(params.refresh_token);
  const now = deps.clock();

  const requested = params.scope === undefined ? undefined : scopeList(params.scope);
  const presented: RefreshPresentation = {
    clientId: client.clientId,
    // RFC 9449 §5: the key the request proved, which a bound refresh token must be bound to.
    ...(dpop === undefined ? {} : { dpopJkt: dpop.jkt }),
    ...(requested === undefined ? {} : { scope: requested }),
    ...(params.resource === undefined ? {} : { resource: params.resource }),
  };
  // Rotated in one step when the refresh rules (storage/tokens.ts) fit in the rotating UPDATE,
  // that is without a scope to compare; otherwise the same rules, checked on the stored token.
  const rotatedAtOnce = await deps.stores.tokens.rotateRefreshOf(env, tokenHash, presented, now);
  const { token: previous, grace } =
    rotatedAtOnce === undefined
      ? await rotateAfterChecks(deps, requestEnv.environment, tokenHash, presented, now)
      : { token: rotatedAtOnce, grace: false };
  const scope = requested ?? previous.scope;

  const user = await deps.stores.users.get(env, previous.userId);
  if (user === undefined || user.disabled) {
    await deps.stores.tokens.revokeFamily(env, previous.familyId, now);
    throw new InvalidGrant('the user is no longer allowed to sign in');
  }

  const acting = await actingForGrant(deps, env, previous.impersonationId, 'grant');

  // The new refresh token keeps the whole grant; a narrower scope applies to this access token only.
  const { response, jti } = await issueUserTokens(
    deps,
    requestEnv,
    {
      ...(acting === undefined ? {} : { acting }),
      client,
      user,
      scope,
      resource: previous.resource,
      authTime: previous.authTime,
      nonce: null,
      grantId: previous.familyId,
      refresh: true,
      codeHash: previous.codeHash,
      refreshScope: previous.scope,
      // The refreshed ID token says of the sign-in what the first one did (sid, amr, acr).
      ...(previous.sessionClaims === undefined ? {} : { sessionClaims: previous.sessionClaims }),
      // The new access token is bound to the proof's key, and so is a public client's new refresh
      // token (user-tokens.ts): a bound token's successor keeps the key it was bound to, which
      // the refresh rules made sure is this one.
      ...(dpop === undefined ? {} : { dpopJkt: dpop.jkt }),
    },
    {
      at: now,
      event: (issued) => ({
        environment: env,
        type: 'token.refreshed',
        actor: `client:${client.clientId}`,
        clientId: client.clientId,
        userId: user.id,
        // A successor given in the grace window says so (grants/refresh-grace.ts).
        data: { jti: issued.jti, familyId: previous.familyId, ...(grace ? { grace: true } : {}) },
      }),
    },
  );
  if (acting !== undefined)
    await auditImpersonatedIssue(deps, requestEnv, acting, client, user, jti);
  return response;
};

/** How each broken refresh rule is refused. */
const REFUSALS: Readonly<Record<RefreshRefusal, () => Error>> = {
  client: () => new InvalidGrant('the refresh token was issued to another client'),
  dpop: () =>
    new InvalidGrant(
      'the refresh token is bound to a DPoP key: a rotation needs a DPoP proof of that key',
    ),
  scope: () => new InvalidScope('the requested scope is wider than the refresh token grants'),
  resource: () => new InvalidTarget('resource differs from the one granted'),
};

/**
 * Rotation with the refresh rules checked first, so a bad request (another client, no proof of
 * the DPoP key the token is bound to, a wider scope, another resource) does not spend the token.
 * A token presented again after its rotation is a reuse, and ends its grant (OAuth 2.1 §4.3.1,
 * RFC 9700 §4.14.2), unless the grace window gives its holder a successor (refresh-grace.ts).
 */
async function rotateAfterChecks(
  deps: TokenDeps,
  environment: Environment,
  tokenHash: string,
  presented: RefreshPresentation,
  now: number,
): Promise<{ readonly token: RefreshToken; readonly grace: boolean }> {
  const env = environment.name;
  const { clientId } = presented;
  const active = await deps.stores.tokens.findActiveRefresh(env, tokenHash, now);
  const refusal = active === undefined ? undefined : refreshRefusal(active, presented);
  if (refusal !== undefined) throw REFUSALS[refusal]();

  const result = await deps.stores.tokens.rotateRefresh(env, tokenHash, now);
  if (result.status === 'reused') {
    const reused = refreshRefusal(result.token, presented);
    // Another client cannot end a grant it does not hold (nor learn more than that it failed).
    if (reused === 'client') throw REUSED();
    // RFC 9449 §5: a bound token without a proof of its key is useless, and so is its reuse:
    // refused, with no successor and nothing revoked. Revoking here would let anyone holding an
    // old copy of the token, without the key, end the user's grant at will (denial of service);
    // a reuse with the key (after the window) still revokes.
    if (reused === 'dpop') throw REFUSALS.dpop();
    if (reused === undefined) {
      const successor = await graceSuccessor(deps, environment, tokenHash, presented, now);
      if (successor !== undefined) return { token: successor, grace: true };
    }
    await deps.stores.tokens.revokeFamily(env, result.token.familyId, now);
    // The family is the grant: its access tokens carry it as grant_id.
    await recordRevocation(deps, env, 'grant', result.token.familyId);
    await deps.stores.audit.append(
      {
        environment: env,
        type: 'refresh.reused',
        actor: `client:${clientId}`,
        clientId: clientId,
        userId: result.token.userId,
        data: { familyId: result.token.familyId },
      },
      now,
    );
    throw REUSED();
  }
  if (result.status === 'unknown')
    throw new InvalidGrant('the refresh token is invalid, expired or revoked');
  // The row it rotated, checked by the same rules. It is the row read above (a usable token
  // never becomes usable again once it is not), so this refuses nothing the check above let by.
  const rotatedRefusal = refreshRefusal(result.token, presented);
  if (rotatedRefusal !== undefined) throw REFUSALS[rotatedRefusal]();
  return { token: result.token, grace: false };
}

const REUSED = (): Error =>
  new InvalidGrant('the refresh token was already used; every token of its grant is revoked');
