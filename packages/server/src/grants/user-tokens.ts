import type { EnvironmentContext } from '../services/environments.js';
import { isPublicClient, type Client } from '../storage/clients.js';
import type { User } from '../storage/users.js';
import type { AuditEvent } from '../storage/audit.js';
import type { SessionClaims } from '../storage/session-claims.js';
import {
  idTokenAlgOf,
  issueIdToken,
  newRefreshToken,
  signAccessToken,
  type ActingOperator,
  type TokenDeps,
} from '../tokens/issue.js';
import { InvalidGrant } from '../errors.js';
import { actingOperator } from '../services/impersonation.js';
import { limitSpaRefresh } from './spa-refresh.js';
import { tokenTypeOf, type TokenResponse } from './context.js';

/**
 * The operator acting for a grant made during an impersonation, or undefined for the user's own
 * grant. Nothing outlives an impersonation: once it has ended, the grant's code or refresh token
 * is refused (`what` says which, for the description).
 */
export async function actingForGrant(
  deps: TokenDeps,
  environment: string,
  impersonationId: string | null,
  what: 'code' | 'grant',
): Promise<ActingOperator | undefined> {
  if (impersonationId === null) return undefined;
  const acting = await actingOperator(deps, environment, impersonationId);
  if (acting === undefined)
    throw new InvalidGrant(`the impersonation this ${what} came from has ended`);
  return acting;
}

/**
 * Whether a new grant gets a refresh token: OIDC Core §11 gives one with `openid` only for
 * `offline_access`; plain OAuth clients get one whenever they may refresh.
 */
export function refreshDue(client: Client, scope: readonly string[]): boolean {
  const wanted = !scope.includes('openid') || scope.includes('offline_access');
  return client.grantTypes.includes('refresh_token') && wanted;
}

export interface UserTokenRequest {
  readonly client: Client;
  readonly user: User;
  readonly scope: readonly string[];
  readonly resource: string | null;
  readonly authTime: number;
  readonly nonce: string | null;
  /**
   * The user's grant: every access token carries it as `grant_id`, and a refresh token's family
   * is this id, so revoking the grant (a `grant` revocation event) revokes all its tokens.
   */
  readonly grantId: string;
  /** Whether a refresh token is issued too (of the family `grantId`). */
  readonly refresh: boolean;
  readonly codeHash: string | null;
  /** What the refresh token covers, when wider than this access token (a narrowed refresh). */
  readonly refreshScope?: readonly string[];
  /** Set when an operator impersonates the user. */
  readonly acting?: ActingOperator;
  /**
   * What the ID token says of the sign-in (sid, amr, acr): from the code or device code, then
   * carried by every refresh token of the grant.
   */
  readonly sessionClaims?: SessionClaims;
  /**
   * The thumbprint of the DPoP key the request proved (RFC 9449 §5): the access token is bound to
   * it (`cnf.jkt`, `token_type: DPoP`), and so is a public client's refresh token, which has no
   * client authentication to constrain it otherwise. A confidential client's refresh token is
   * not bound (RFC 9449 §5: its authentication already constrains it).
   */
  readonly dpopJkt?: string;
}

/** The audit entry that records a grant's tokens, written in the same transaction as they are. */
export interface IssueAudit {
  readonly at: number;
  readonly event: (issued: {
    readonly jti: string;
    readonly refresh: boolean;
    readonly grantId: string;
  }) => AuditEvent;
}

/**
 * The access token, refresh token (when due) and ID token (with openid) of one grant. The refresh
 * token is stored with the grant's audit entry, which names the access token's jti, in one
 * transaction before they are returned.
 */
export async function issueUserTokens(
  deps: TokenDeps,
  requestEnv: EnvironmentContext,
  request: UserTokenRequest,
  audit: IssueAudit,
): Promise<{ response: TokenResponse; jti: string }> {
  const env = requestEnv.environment.name;
  const { client, user, scope, resource, authTime, grantId, codeHash } = request;
  const acting = request.acting === undefined ? {} : { acting: request.acting };
  const sessionClaims =
    request.sessionClaims === undefined ? {} : { sessionClaims: request.sessionClaims };
  const { dpopJkt } = request;
  const access = await signAccessToken(deps, {
    environment: env,
    issuer: requestEnv.issuer,
    clientId: client.clientId,
    subject: user.id,
    userId: user.id,
    scope,
    resource,
    authTime,
    grantId,
    ...acting,
    ...(dpopJkt === undefined ? {} : { dpopJkt }),
  });
  // After the access token: the ID token carries its at_hash (OIDC Core §3.1.3.6).
  const idToken = scope.includes('openid')
    ? await issueIdToken(deps, {
        environment: env,
        issuer: requestEnv.issuer,
        clientId: client.clientId,
        user,
        authTime,
        nonce: request.nonce,
        scope,
        alg: idTokenAlgOf(client),
        accessToken: access.token,
        ...sessionClaims,
        ...acting,
      })
    : undefined;
  // A single-page app's refresh tokens are short-lived (grants/spa-refresh.ts).
  const refresh = !request.refresh
    ? undefined
    : limitSpaRefresh(
        client,
        newRefreshToken(deps, {
          environment: env,
          clientId: client.clientId,
          userId: user.id,
          scope: request.refreshScope ?? scope,
          resource,
          authTime,
          familyId: grantId,
          codeHash,
          ...sessionClaims,
          ...acting,
          ...(dpopJkt === undefined || !isPublicClient(client) ? {} : { dpopJkt }),
        }),
      );
  // The access token has no row: the grant's audit entry, naming its jti, is its record, durable
  // (with the refresh token, if any) before the token is handed out.
  await deps.stores.tokens.saveIssued(refresh === undefined ? {} : { refresh: refresh.record }, {
    at: audit.at,
    event: audit.event({ jti: access.jti, refresh: refresh !== undefined, grantId }),
  });
  return {
    jti: access.jti,
    response: {
      access_token: access.token,
      token_type: tokenTypeOf(dpopJkt),
      expires_in: access.expiresIn,
      scope: scope.join(' '),
      ...(refresh === undefined ? {} : { refresh_token: refresh.token }),
      ...(idToken === undefined ? {} : { id_token: idToken }),
    },
  };
}

/** Every token issued during an impersonation is an audit entry of its own, naming the operator. */
export async function auditImpersonatedIssue(
  deps: TokenDeps,
  requestEnv: EnvironmentContext,
  acting: ActingOperator,
  client: Client,
  user: User,
  jti: string,
): Promise<void> {
  const impersonation = await deps.stores.impersonations.get(
    requestEnv.environment.name,
    acting.impersonationId,
  );
  await deps.stores.audit.append(
    {
      environment: requestEnv.environment.name,
      type: 'impersonation.token_issued',
      actor: `operator:${acting.operatorId}`,
      clientId: client.clientId,
      userId: user.id,
      data: {
        impersonationId: acting.impersonationId,
        operatorEmail: acting.operatorEmail,
        reason: impersonation?.reason ?? null,
        jti,
        expiresAt: acting.until,
      },
    },
    deps.clock(),
  );
}
