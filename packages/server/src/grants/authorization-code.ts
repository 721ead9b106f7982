import { createHash, randomUUID } from 'node:crypto';
import { sha256 } from '../crypto/random.js';
import { InvalidGrant, InvalidRequest, InvalidTarget } from '../errors.js';
import {
  actingForGrant,
  auditImpersonatedIssue,
  issueUserTokens,
  refreshDue,
} from './user-tokens.js';
import type { GrantHandler } from './context.js';
import { isPublicClient, type Client } from '../storage/clients.js';
import {
  NO_CODE_CHALLENGE,
  codeRefusal,
  type AuthorizationCode,
  type CodePresentation,
  type CodeRefusal,
} from '../storage/codes.js';
import { recordRevocation } from '../services/revocation.js';
import type { TokenDeps } from '../tokens/issue.js';

const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5, OAuth 2.1 §4.1.3). */
export const authorizationCodeGrant: GrantHandler = async ({
  deps,
  requestEnv,
  client,
  params,
  dpop,
}) => {
  const env = requestEnv.environment.name;
  if (params.code === undefined) throw new InvalidRequest('code is required');
  const verifier = params.code_verifier;
  // OAuth 2.1 §4.1.3: code_verifier is required, but for a client with the legacy exception
  // (OAuth 2.1 §7.5.1), whose codes may have been issued without a challenge. Whether this code
  // was is the code rule's to say (storage/codes.ts, NO_CODE_CHALLENGE).
  if (verifier === undefined && !pkceExempt(client))
    throw new InvalidRequest('code_verifier is required (PKCE)');
  if (verifier !== undefined && !CODE_VERIFIER.test(verifier))
    throw new InvalidRequest('code_verifier must be 43 to 128 unreserved characters');

  const codeHash = sha256(params.code);
  const challenge =
    verifier === undefined
      ? NO_CODE_CHALLENGE
      : createHash('sha256').update(verifier).digest('base64url');
  const presented: CodePresentation = {
    clientId: client.clientId,
    codeChallenge: challenge,
    ...(params.redirect_uri === undefined ? {} : { redirectUri: params.redirect_uri }),
    ...(params.resource === undefined ? {} : { resource: params.resource }),
    ...(dpop === undefined ? {} : { dpopJkt: dpop.jkt }),
  };
  // The grant the code is spent on: its tokens carry it as `grant_id`, and the code records it,
  // so a replay of the code revokes exactly this grant.
  const grantId = randomUUID();
  // Spent in one step when the request breaks none of the code rules (storage/codes.ts);
  // otherwise the same rules, checked on the stored code, say why.
  const code =
    (await deps.stores.codes.redeem(env, codeHash, presented, grantId, deps.clock())) ??
    (await spendAfterChecks(deps, env, codeHash, presented, grantId));

  const user = await deps.stores.users.get(env, code.userId);
  if (user === undefined || user.disabled)
    throw new InvalidGrant('the user is no longer allowed to sign in');
  const acting = await actingForGrant(deps, env, code.impersonationId, 'code');

  const { response, jti } = await issueUserTokens(
    deps,
    requestEnv,
    {
      ...(acting === undefined ? {} : { acting }),
      client,
      user,
      scope: code.scope,
      resource: code.resource,
      authTime: code.authTime,
      nonce: code.nonce,
      ...(code.sessionClaims === undefined ? {} : { sessionClaims: code.sessionClaims }),
      grantId,
      refresh: refreshDue(client, code.scope),
      codeHash,
      ...(dpop === undefined ? {} : { dpopJkt: dpop.jkt }),
    },
    {
      at: deps.clock(),
      event: (issued) => ({
        environment: env,
        type: 'code.redeemed',
        actor: `client:${client.clientId}`,
        clientId: client.clientId,
        userId: user.id,
        data: {
          jti: issued.jti,
          refresh: issued.refresh,
          grantId: issued.grantId,
          scope: code.scope.join(' '),
        },
      }),
    },
  );
  if (acting !== undefined)
    await auditImpersonatedIssue(deps, requestEnv, acting, client, user, jti);
  return response;
};

/**
 * The legacy exception (OAuth 2.1 §7.5.1): a confidential client an operator allowed to go
 * without PKCE when it uses an OIDC nonce; never a public client, whatever its record says.
 */
export function pkceExempt(client: Client): boolean {
  return client.pkceExemptWithNonce === true && !isPublicClient(client);
}

/** How each broken code rule is refused. */
const REFUSALS: Readonly<Record<CodeRefusal, () => Error>> = {
  client: () => new InvalidGrant('the authorization code was issued to another client'),
  redirect_uri: () =>
    new InvalidGrant('redirect_uri differs from the one in the authorization request'),
  redirect_uri_missing: () =>
    new InvalidGrant('redirect_uri is required: the authorization request carried it'),
  code_verifier: () => new InvalidGrant('code_verifier does not match the code_challenge'),
  resource: () => new InvalidTarget('resource differs from the one authorized'),
  // RFC 9449 §10: the code is bound (dpop_jkt) to a key the request's proof is not of, or the
  // request carried no proof at all.
  dpop_jkt: () =>
    new InvalidGrant('the code is bound to a DPoP key: send a DPoP proof made with that key'),
};

/**
 * The code was not spent in one step: read it, and refuse with the reason. The code rules run
 * before it is spent, so a request from the wrong client, or with the wrong redirect_uri or
 * verifier, cannot burn another client's code (RFC 6749 §10.5). A code that passes them all but
 * was used before is a replay.
 */
async function spendAfterChecks(
  deps: TokenDeps,
  env: string,
  codeHash: string,
  presented: CodePresentation,
  grantId: string,
): Promise<AuthorizationCode> {
  const { clientId } = presented;
  const code = await deps.stores.codes.find(env, codeHash);
  if (code === undefined) throw new InvalidGrant('the authorization code is invalid or expired');
  const refusal = codeRefusal(code, presented);
  if (refusal === 'code_verifier' && code.codeChallenge === NO_CODE_CHALLENGE)
    // RFC 9700 §4.8.2: a code_verifier for a code issued without a code_challenge is the PKCE
    // downgrade attack (the challenge stripped from the authorization request): refused.
    throw new InvalidGrant('the code was issued without a code_challenge: send no code_verifier');
  if (refusal === 'code_verifier' && presented.codeChallenge === NO_CODE_CHALLENGE)
    throw new InvalidGrant(
      'code_verifier is required: the authorization request had a code_challenge',
    );
  if (refusal !== undefined) throw REFUSALS[refusal]();

  const result = await deps.stores.codes.consume(env, codeHash, grantId, deps.clock());
  if (result.status === 'replayed') {
    // OAuth 2.1 §4.1.3: a code used twice means it leaked; revoke what it produced. The refresh
    // tokens by code (kept, so ones a concurrent winner stores later are dead too); the access
    // tokens by the grant the code was spent on, wherever they are checked.
    await deps.stores.tokens.revokeIssuedFromCode(env, codeHash, deps.clock());
    if (result.grantId != null) await recordRevocation(deps, env, 'grant', result.grantId);
    await deps.stores.audit.append(
      {
        environment: env,
        type: 'code.replayed',
        actor: `client:${clientId}`,
        clientId: clientId,
        userId: code.userId,
        ...(result.grantId == null ? {} : { data: { grantId: result.grantId } }),
      },
      deps.clock(),
    );
    throw new InvalidGrant(
      'the authorization code was already used; the tokens issued from it are revoked',
    );
  }
  if (result.status === 'unknown')
    throw new InvalidGrant('the authorization code is invalid or expired');

  return code;
}
