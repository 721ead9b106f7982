import type { FastifyReply } from 'fastify';
import { matchRedirectUri } from '@gatehouse/redirect-policy';
import type { OAuthError } from '../errors.js';
import { randomToken, sha256 } from '../crypto/random.js';
import { SESSION_TTL_MS } from '../http/cookies.js';
import type { AppDeps, EnvironmentContext } from '../http/deps.js';
import { sendNoStorePage } from '../http/no-store-page.js';
import { errorPage } from '../pages/pages.js';
import { redirectMatchOptions } from '../services/redirect-checks.js';
import { recordSessionClient } from '../services/logout.js';
import type { PendingAuthorization } from '../storage/authorization-requests.js';
import { activeRedirectUris } from '../storage/clients.js';
import { NO_CODE_CHALLENGE } from '../storage/codes.js';
import type { Session } from '../storage/sessions.js';
import type { ActingOperator } from '../tokens/issue.js';
import { impersonationClaims, sessionClaimsOf } from './session-claims.js';

export const CODE_TTL_MS = 60_000;

/**
 * Appends response parameters to the redirect URI as text, so that the URI the client registered
 * and sent is kept character for character (a URL object would re-serialise it).
 */
export function redirectWith(
  redirectUri: string,
  params: Record<string, string | null | undefined>,
): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== null && value !== undefined) query.append(key, value);
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${query.toString()}`;
}

/** An error sent back to the client, with `state` and RFC 9207 `iss`. */
export function redirectError(
  reply: FastifyReply,
  requestEnv: EnvironmentContext,
  request: Pick<PendingAuthorization, 'redirectUri' | 'state'>,
  error: OAuthError,
): FastifyReply {
  return reply.redirect(
    redirectWith(request.redirectUri, {
      error: error.code,
      error_description: error.description,
      state: request.state,
      iss: requestEnv.issuer,
    }),
    303,
  );
}

/**
 * An error for a request answered after it was parked (sign-in, consent, confirmation): like a
 * code, it goes only to a redirect URI still registered (RFC 6749 §4.1.2.1). A URI removed or
 * expired meanwhile may be a lapsed domain now held by someone else, and the error carries the
 * client's `state`; so a page instead.
 */
export async function redirectParkedError(
  deps: AppDeps,
  reply: FastifyReply,
  requestEnv: EnvironmentContext,
  request: PendingAuthorization,
  error: OAuthError,
): Promise<FastifyReply> {
  if (!(await stillRegistered(deps, requestEnv, request, deps.clock())))
    return noLongerRegistered(reply);
  return redirectError(reply, requestEnv, request, error);
}

/** The page shown instead of a redirect to a URI no longer registered. */
function noLongerRegistered(reply: FastifyReply): FastifyReply {
  return sendNoStorePage(
    reply,
    400,
    errorPage(
      'Return address no longer registered',
      'The application this sign-in would return to no longer has this address registered, so it was stopped. Start again from the application.',
    ),
  );
}

/** Issues the code and sends the browser back to the client. */
export async function redirectWithCode(
  deps: AppDeps,
  reply: FastifyReply,
  requestEnv: EnvironmentContext,
  request: PendingAuthorization,
  userId: string,
  authTime: number,
  acting?: ActingOperator,
  /** The browser session the code is issued under (its sid goes into the ID tokens). */
  session?: Pick<Session, 'sid'>,
): Promise<FastifyReply> {
  const now = deps.clock();
  // RFC 6749 §4.1.2.1: the redirect URI was matched when the request was checked, but sign-in and
  // consent can come minutes later. A registration removed or expired meanwhile (issue #18's
  // review URIs) is sent no code; nor anything else: it is not trusted any more, so a page.
  if (!(await stillRegistered(deps, requestEnv, request, now))) return noLongerRegistered(reply);
  const code = `ghac_${randomToken(32)}`;
  // OIDC Core §3.1.2.1 acr_values: a voluntary request, answered with the class reached.
  const acrRequested = (request.acrValues?.length ?? 0) > 0;
  // The code and its audit entry are committed together (storage/codes.ts).
  await deps.stores.codes.issue(
    {
      codeHash: sha256(code),
      environment: requestEnv.environment.name,
      clientId: request.clientId,
      userId,
      redirectUri: request.redirectUri,
      redirectUriSent: request.redirectUriSent === true,
      codeChallenge: request.codeChallenge,
      scope: request.scope,
      nonce: request.nonce,
      resource: request.resource,
      authTime,
      expiresAt: now + CODE_TTL_MS,
      impersonationId: acting?.impersonationId ?? null,
      // What the ID tokens of this grant say of the sign-in, at the token endpoint and on refresh.
      sessionClaims:
        acting === undefined
          ? sessionClaimsOf(session ?? { sid: null }, acrRequested)
          : impersonationClaims(acrRequested),
      // RFC 9449 §10: redeemed only with a proof of this key.
      dpopJkt: request.dpopJkt ?? null,
      createdAt: now,
    },
    {
      at: now,
      event: {
        environment: requestEnv.environment.name,
        type: 'code.issued',
        actor: acting === undefined ? `user:${userId}` : `operator:${acting.operatorId}`,
        clientId: request.clientId,
        userId,
        data: {
          scope: request.scope.join(' '),
          redirectHost: hostOf(request.redirectUri),
          // A code issued without PKCE, under the client's legacy exception (OAuth 2.1 §7.5.1).
          ...(request.codeChallenge === NO_CODE_CHALLENGE ? { pkce: false } : {}),
          ...(acting === undefined ? {} : { impersonationId: acting.impersonationId }),
        },
      },
    },
  );
  // The inventory's last use, against the registration matched (counted in memory, flushed later).
  deps.redirectUsage.countUse(
    {
      environment: requestEnv.environment.name,
      clientId: request.clientId,
      kind: 'redirect',
      uri: request.registeredRedirectUri ?? request.redirectUri,
    },
    now,
  );
  // Back-Channel Logout 1.0 §2.7: the client is told when this session ends. The session expires
  // at most a session lifetime from now: the record is kept that long (housekeeping).
  if (acting === undefined && session !== undefined)
    await recordSessionClient(deps, {
      environment: requestEnv.environment.name,
      sid: session.sid,
      clientId: request.clientId,
      userId,
      expiresAt: now + SESSION_TTL_MS,
    });
  return reply.redirect(
    redirectWith(request.redirectUri, { code, state: request.state, iss: requestEnv.issuer }),
    303,
  );
}

export function hostOf(uri: string): string {
  try {
    const url = new URL(uri);
    return url.host === '' ? url.protocol : url.host;
  } catch {
    return uri;
  }
}

/** Whether the request's redirect URI still matches one of its client's active registrations. */
async function stillRegistered(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: PendingAuthorization,
  now: number,
): Promise<boolean> {
  const client = await deps.stores.clients.get(requestEnv.environment.name, request.clientId);
  if (client === undefined) return false;
  return matchRedirectUri(
    request.redirectUri,
    activeRedirectUris(client, now),
    redirectMatchOptions(requestEnv.environment, client.type),
  ).ok;
}
