import { InvalidRequest, InvalidScope, InvalidTarget, UnauthorizedClient } from '../errors.js';
import type { EnvironmentContext } from '../services/environments.js';
import { OIDC_SCOPES, scopeList } from '../protocol.js';
import { activeAccessToken, type ActiveAccessToken } from '../services/access-token-status.js';
import { acceptedResource, consentItems, decideResource } from '../services/resources.js';
import type { Client } from '../storage/clients.js';
import type { User } from '../storage/users.js';
import { signAccessToken, type TokenDeps } from '../tokens/issue.js';
import type { DpopProofResult } from '../tokens/dpop-proof.js';
import { tokenTypeOf, type GrantHandler } from './context.js';

/** RFC 8693 §3: the one token type this server takes and issues in an exchange. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** How many parties a delegation chain may name; `act` claims nest no deeper than this. */
const MAX_DELEGATION_DEPTH = 5;

/*
 * RFC 8693 §2.2.2: "If the request itself is not valid or if either the subject_token or
 * actor_token are invalid for any reason, or are unacceptable based on policy, ... The value of
 * the error parameter MUST be the invalid_request error code." So every refusal of a presented
 * token below is `invalid_request` (not `invalid_grant`); the description says which check.
 */

interface ExchangeRequest {
  readonly subjectToken: string;
  readonly actorToken: string;
  /** The resource or audience the new token is for. */
  readonly target: string;
  /** The scope asked for; undefined: what the subject token grants and the target accepts. */
  readonly scope: readonly string[] | undefined;
}

/** A verified access token of this environment, in force (services/access-token-status.ts). */
type ActiveToken = ActiveAccessToken;

/**
 * grant_type=urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693 §2), for delegation: a
 * confidential client acting for a user gets a token for one of its exchange audiences, naming
 * itself in `act`. Steps: check-client, check-request, check-audience, check-actor,
 * check-subject, check-agent, decide-scope, issue, audit.
 */
export const tokenExchangeGrant: GrantHandler = async ({
  deps,
  requestEnv,
  client,
  params,
  dpop,
}) => {
  checkClient(client);
  const request = checkRequest(params);
  checkAudience(client, request.target);
  const actor = await checkActor(deps, requestEnv, client, request.actorToken);
  checkKeyHeld(actor, dpop, 'actor_token');
  const { subject, user } = await checkSubject(deps, requestEnv, request.subjectToken);
  // A bound subject token of another client is the user's token that reached this client (an
  // API) with a proof the API checked; this client cannot prove that key, nor is it asked to: it
  // authenticated, and check-agent decides whether it may act for the user. Its own bound token
  // it can prove, and must.
  if (subject.clientId === client.clientId) checkKeyHeld(subject, dpop, 'subject_token');
  // The target's registration and the client's allowed resources first (RFC 8707 invalid_target).
  acceptedResource(
    await decideResource(deps.stores, requestEnv.environment.name, client, request.target, [], {
      userScopesAllowed: true,
    }),
  );
  const agentConsent = await checkAgent(deps, requestEnv, client, request.target, subject, user.id);
  const scope = await decideScope(
    deps,
    requestEnv,
    client,
    request,
    subject,
    user.id,
    agentConsent,
  );

  const act = delegationAct(client, subject.payload.act);
  const authTime = subject.payload.auth_time;
  const access = await signAccessToken(deps, {
    environment: requestEnv.environment.name,
    issuer: requestEnv.issuer,
    clientId: client.clientId,
    subject: user.id,
    userId: user.id,
    scope,
    resource: request.target,
    ...(typeof authTime === 'number' ? { authTime: authTime * 1000 } : {}),
    // The user's grant owns the new token: revoking the grant (or ending the impersonation it
    // came from) revokes this one too.
    ...(subject.grantId === null ? {} : { grantId: subject.grantId }),
    delegation: {
      act,
      impersonationId: subject.impersonationId,
      notAfter: subject.exp * 1000,
    },
    // RFC 9449 §5: the new token is bound to the key of this request's proof, if any.
    ...(dpop === undefined ? {} : { dpopJkt: dpop.jkt }),
  });
  // No row of its own: the audit entry naming its jti is durable before the token is handed out.
  await deps.stores.tokens.saveIssued(
    {},
    {
      at: deps.clock(),
      event: {
        environment: requestEnv.environment.name,
        type: 'token.exchanged',
        actor: `client:${client.clientId}`,
        clientId: client.clientId,
        userId: user.id,
        data: {
          jti: access.jti,
          audience: request.target,
          scope: scope.join(' '),
          subjectJti: subject.jti,
          subjectClientId: subject.clientId,
          actorJti: actor.jti,
          actorClientId: actor.clientId,
          delegationDepth: depthOf(act),
          ...(subject.grantId === null ? {} : { grantId: subject.grantId }),
          ...(subject.impersonationId === null ? {} : { impersonationId: subject.impersonationId }),
        },
      },
    },
  );
  // RFC 8693 §2.2.1: no refresh token; the exchanged token ends with the subject token.
  return {
    access_token: access.token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: tokenTypeOf(dpop?.jkt),
    expires_in: access.expiresIn,
    scope: scope.join(' '),
  };
};

/** check-client: delegation is for clients that authenticate (the token endpoint did). */
function checkClient(client: Client): void {
  if (client.type !== 'web')
    throw new UnauthorizedClient('token exchange needs a confidential (web) client');
}

/** check-request: the RFC 8693 §2.1 parameters, in the one profile Gatehouse supports. */
function checkRequest(params: Record<string, string>): ExchangeRequest {
  if (
    params.requested_token_type !== undefined &&
    params.requested_token_type !== ACCESS_TOKEN_TYPE
  )
    throw new InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);

  const subjectToken = params.subject_token;
  if (subjectToken === undefined || subjectToken === '')
    throw new InvalidRequest('subject_token is required');
  // RFC 8693 §2.1: subject_token_type is REQUIRED.
  if (params.subject_token_type === undefined)
    throw new InvalidRequest('subject_token_type is required');
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE)
    throw new InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);

  // Gatehouse delegates only to a client that shows it is acting (RFC 8693 §1.1).
  const actorToken = params.actor_token;
  if (actorToken === undefined || actorToken === '') {
    // RFC 8693 §2.1: actor_token_type "MUST NOT be included otherwise".
    if (params.actor_token_type !== undefined)
      throw new InvalidRequest('actor_token_type is sent without actor_token');
    throw new InvalidRequest('actor_token is required: an access token this client obtained');
  }
  // RFC 8693 §2.1: actor_token_type is REQUIRED when actor_token is present.
  if (params.actor_token_type === undefined)
    throw new InvalidRequest('actor_token_type is required with actor_token');
  if (params.actor_token_type !== ACCESS_TOKEN_TYPE)
    throw new InvalidRequest(`actor_token_type must be ${ACCESS_TOKEN_TYPE}`);

  const { resource, audience } = params;
  if (resource !== undefined && audience !== undefined && resource !== audience)
    throw new InvalidTarget('resource and audience differ: an exchanged token has one audience');
  const target = resource ?? audience;
  if (target === undefined || target === '')
    throw new InvalidRequest('resource or audience is required: the target of the new token');
  return {
    subjectToken,
    actorToken,
    target,
    scope: params.scope === undefined ? undefined : scopeList(params.scope),
  };
}

/** check-audience: only the targets configured for this client (RFC 8693 §2.2.2 invalid_target). */
function checkAudience(client: Client, target: string): void {
  if (client.exchangeAudiences === null || !client.exchangeAudiences.includes(target))
    throw new InvalidTarget('this client may not exchange tokens for that audience');
}

/** check-actor: the actor token is the requesting client's own (client_credentials) token. */
async function checkActor(
  deps: TokenDeps,
  requestEnv: EnvironmentContext,
  client: Client,
  token: string,
): Promise<ActiveToken> {
  const actor = await activeToken(deps, requestEnv, token);
  if (
    actor === undefined ||
    actor.clientId !== client.clientId ||
    actor.user !== undefined ||
    actor.grantId !== null ||
    actor.sub !== client.clientId
  )
    throw new InvalidRequest(
      'actor_token must be an active access token this client obtained for itself',
    );
  return actor;
}

/**
 * RFC 9449 §7.2 in spirit: a DPoP-bound token (`cnf.jkt`) is only used by whoever holds its key.
 * Presented here by the client it was issued to, the request's proof must be made with that key.
 */
function checkKeyHeld(
  token: ActiveToken,
  dpop: DpopProofResult | undefined,
  name: 'actor_token' | 'subject_token',
): void {
  const cnf = token.payload.cnf;
  const jkt = isClaimSet(cnf) && typeof cnf.jkt === 'string' ? cnf.jkt : undefined;
  if (jkt !== undefined && dpop?.jkt !== jkt)
    throw new InvalidRequest(
      `${name} is bound to a DPoP key: the request's DPoP proof must be made with that key`,
    );
}

/** check-subject: an active access token of a user who may still sign in. */
async function checkSubject(
  deps: TokenDeps,
  requestEnv: EnvironmentContext,
  token: string,
): Promise<{ subject: ActiveToken; user: User }> {
  const subject = await activeToken(deps, requestEnv, token);
  // A client_credentials token has no user behind it (`sub` is the client). A user's token is in
  // force only while the user may sign in (services/access-token-status.ts).
  const user = subject?.user;
  if (subject === undefined || user === undefined)
    throw new InvalidRequest('subject_token must be an active access token of a user');
  if (depthOf(subject.payload.act) >= MAX_DELEGATION_DEPTH)
    throw new InvalidRequest('the subject_token is delegated too many times already');
  // The new token never outlives the subject token; one about to expire leaves nothing to give.
  if (subject.exp <= Math.floor(deps.clock() / 1000))
    throw new InvalidRequest('subject_token must be an active access token of a user');
  return { subject, user };
}

/**
 * check-agent: whether this client may act for the subject token's user at all. Holding a user's
 * token is not enough (another client's token may have leaked to it, or been handed over by an
 * application the user trusted with it, not with this agent). It may when:
 * - the subject token was issued to it from a grant the user made to it (it exchanges its own
 *   token for a narrower one); one it obtained by exchange from another client's grant is not;
 * - the subject token says so: RFC 8693 §4.4 `may_act` naming this client (`sub` or `client_id`);
 * - the user consented to this client at the target, on the consent page of an authorization
 *   request the agent made with `resource` = the target: the recorded consent (user, agent) holds
 *   `resource@target`. That consent is listed in the admin API and console and revocable there.
 *
 * Returns the consent items that then bound the scope, or undefined when no consent is needed.
 * RFC 8693 §2.2.2: a subject token "unacceptable based on policy" is `invalid_request`.
 */
async function checkAgent(
  deps: TokenDeps,
  requestEnv: EnvironmentContext,
  client: Client,
  target: string,
  subject: ActiveToken,
  userId: string,
): Promise<readonly string[] | undefined> {
  // Its own: issued to it, and from a grant the user made to it. A token it got by exchange is
  // issued to it too, yet descends from another client's grant: it carries no consent further.
  if (
    subject.clientId === client.clientId &&
    (await originClient(deps, requestEnv, subject)) === client.clientId
  )
    return undefined;
  const mayAct = subject.payload.may_act;
  if (
    isClaimSet(mayAct) &&
    (mayAct.sub === client.clientId || mayAct.client_id === client.clientId)
  )
    return undefined;
  const consented = await deps.stores.consents.get(
    requestEnv.environment.name,
    userId,
    client.clientId,
  );
  if (consented === undefined || !consentItems([], target).every((i) => consented.includes(i)))
    throw new InvalidRequest(
      'the subject_token was issued to another client, and its user has not let this client act for them at that audience',
    );
  return consented;
}

/**
 * The client the user's grant was made to. A token issued by the grant itself names it as its
 * `client_id`. A token issued by an exchange names the agent instead, so its origin is the client
 * the grant it inherited (`grant_id`) was made to: the client of the refresh family, or of the
 * code the grant was spent from.
 */
async function originClient(
  deps: TokenDeps,
  requestEnv: EnvironmentContext,
  subject: ActiveToken,
): Promise<string> {
  if (!issuedByExchange(subject)) return subject.clientId;
  const env = requestEnv.environment.name;
  const { grantId } = subject;
  if (grantId !== null) {
    const client =
      (await deps.stores.tokens.familyClient(env, grantId)) ??
      (await deps.stores.codes.grantClient(env, grantId));
    if (client !== undefined) return client;
  }
  // A grant that is no longer on record (housekeeping removed it) is nobody's: the agent then
  // needs may_act or the user's consent, as for another client's token.
  return '';
}

/**
 * Whether a token was issued by a token exchange: its `act` (RFC 8693 §4.1) names the client it
 * was issued to as the acting party (`delegationAct`). An impersonation's `act` names an operator
 * (`op_…`), never a client.
 */
function issuedByExchange(token: ActiveToken): boolean {
  const act = token.payload.act;
  return isClaimSet(act) && act.sub === token.clientId;
}

/**
 * decide-scope: never wider than the subject token (RFC 6749 §5.2 invalid_scope: "exceeds the
 * scope granted by the resource owner"); by default what it grants and the target accepts. The
 * target's registration decides as for any other request (RFC 8707).
 */
async function decideScope(
  deps: TokenDeps,
  requestEnv: EnvironmentContext,
  client: Client,
  request: ExchangeRequest,
  subject: ActiveToken,
  userId: string,
  agentConsent: readonly string[] | undefined,
): Promise<readonly string[]> {
  // A resource's scope names mean something only at that resource: a `read` granted at A is not a
  // `read` at B. Across audiences, a resource scope carries over only where the user agreed to it
  // at the target for the client the subject token was issued to; user scopes always do.
  const audiences = Array.isArray(subject.payload.aud)
    ? subject.payload.aud
    : [subject.payload.aud ?? ''];
  const sameAudience = audiences.includes(request.target);
  const subjectClient = await originClient(deps, requestEnv, subject);
  const consented = sameAudience
    ? []
    : ((await deps.stores.consents.get(requestEnv.environment.name, userId, subjectClient)) ?? []);
  const agreedAtTarget = (scope: string) =>
    consentItems([scope], request.target).every((item) => consented.includes(item));
  // An agent acting by the user's consent gets no more at the target than the user gave it there.
  const agentMay = (scope: string) =>
    agentConsent === undefined ||
    consentItems([scope], request.target).every((item) => agentConsent.includes(item));
  const granted = scopeList(
    typeof subject.payload.scope === 'string' ? subject.payload.scope : undefined,
  ).filter((s) => (sameAudience || OIDC_SCOPES.includes(s) || agreedAtTarget(s)) && agentMay(s));
  const decide = (scope: readonly string[]) =>
    decideResource(deps.stores, requestEnv.environment.name, client, request.target, scope, {
      userScopesAllowed: true,
    });
  let scope: readonly string[];
  if (request.scope === undefined) {
    const target = acceptedResource(await decide([]));
    const accepted = [...OIDC_SCOPES, ...(target.resource?.scopes ?? [])];
    scope = granted.filter((s) => accepted.includes(s));
  } else {
    const wider = request.scope.filter((s) => !granted.includes(s));
    if (wider.length > 0)
      throw new InvalidScope('the requested scope is wider than the subject_token grants');
    scope = request.scope;
  }
  if (scope.length === 0)
    throw new InvalidScope('no scope of the subject_token is left for this audience');
  acceptedResource(await decide(scope));
  return scope;
}

/**
 * Verifies a token as introspection does (services/access-token-status.ts): signature, issuer,
 * type and time by this environment's keys (another environment's token fails here), no
 * revocation covering it, its client and user still there.
 */
function activeToken(
  deps: TokenDeps,
  requestEnv: EnvironmentContext,
  token: string,
): Promise<ActiveToken | undefined> {
  return activeAccessToken(deps, requestEnv.environment.name, requestEnv.issuer, token);
}

/**
 * RFC 8693 §4.1: the acting party is this client; when the subject token was itself delegated
 * (or impersonated), its `act` nests inside, so the chain of delegation stays visible.
 */
function delegationAct(client: Client, subjectAct: unknown): Record<string, unknown> {
  return isClaimSet(subjectAct)
    ? { sub: client.clientId, act: subjectAct }
    : { sub: client.clientId };
}

/** How many parties an `act` claim names. */
function depthOf(act: unknown): number {
  let depth = 0;
  for (let current = act; isClaimSet(current); current = current.act) depth++;
  return depth;
}

function isClaimSet(value: unknown): value is Record<string, unknown> & { act?: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
