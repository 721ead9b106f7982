import type { FastifyReply, FastifyRequest } from 'fastify';
import { decoyPasswordHash, verifyPassword } from '../crypto/passwords.js';
import { randomToken, safeEqual, sha256 } from '../crypto/random.js';
import type { AppDeps } from '../http/deps.js';
import type { Operator, OperatorRole } from '../storage/operators.js';
import { endImpersonationsBy } from '../services/impersonation.js';
import { AdminError } from './errors.js';
import { repeatedAudit } from '../services/repeated-audit.js';

export const ADMIN_COOKIE = 'gh_admin';
export const ADMIN_SESSION_TTL_MS = 8 * 3600 * 1000;
export const CSRF_HEADER = 'x-gatehouse-csrf';

export interface SignedInOperator {
  readonly operator: Operator;
  readonly csrfToken: string;
  readonly sessionHash: string;
}

/** The operator signed in on a request, set by the API's authentication hook. */
const signedIn = new WeakMap<FastifyRequest, SignedInOperator>();

export function operatorOf(request: FastifyRequest): SignedInOperator {
  const found = signedIn.get(request);
  if (found === undefined) throw new AdminError(401, 'unauthenticated', 'sign in first');
  return found;
}

function cookieOptions(deps: AppDeps, maxAgeMs: number) {
  return {
    path: '/admin',
    httpOnly: true,
    // The console never needs the cookie on a request another site started.
    sameSite: 'strict' as const,
    secure: deps.config.secureCookies,
    maxAge: Math.floor(maxAgeMs / 1000),
  };
}

/** Reads the session cookie; an unknown, expired or disabled operator's session counts as none. */
export async function authenticate(deps: AppDeps, request: FastifyRequest): Promise<void> {
  const id = request.cookies[ADMIN_COOKIE];
  if (id === undefined || id === '') return;
  const session = await deps.stores.operators.findSession(sha256(id), deps.clock());
  if (session === undefined) return;
  const operator = await deps.stores.operators.get(session.operatorId);
  if (operator === undefined || operator.disabled) return;
  signedIn.set(request, { operator, csrfToken: session.csrfToken, sessionHash: session.idHash });
}

/**
 * Cookie-authenticated changes need proof that the console made them: a token it read from the
 * API (which another site cannot) sent back in a header (which a plain form cannot set).
 */
export function checkCsrf(request: FastifyRequest): void {
  const current = operatorOf(request);
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !safeEqual(sent, current.csrfToken))
    throw new AdminError(403, 'csrf_failed', `the ${CSRF_HEADER} header is missing or wrong`);
}

const RANK: Record<OperatorRole, number> = { viewer: 0, support: 1, admin: 2 };

/** `support` may do what `viewer` may, and impersonate; `admin` may do everything. */
export function requireRole(request: FastifyRequest, least: OperatorRole): SignedInOperator {
  const current = operatorOf(request);
  if (RANK[current.operator.role] < RANK[least])
    throw new AdminError(
      403,
      'forbidden',
      `this needs the ${least} role; you are ${current.operator.role}`,
    );
  return current;
}

export async function signInOperator(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  email: string,
  password: string,
): Promise<SignedInOperator> {
  const now = deps.clock();
  const audit = (type: string, actor: string, data: Record<string, unknown>) =>
    deps.stores.audit.append({ environment: null, type, actor, data }, deps.clock());
  // Counted before the password is checked, so parallel guesses cannot all pass one count.
  const attempt = await deps.signInLimits.reserve(
    'operator',
    email.trim().toLowerCase(),
    request.ip,
    now,
  );
  if (!attempt.granted) {
    // Unauthenticated and repeatable at will: the first per (account, address) and window is
    // audited, the repeats counted (services/repeated-audit.ts).
    await repeatedAudit(deps.stores.audit, deps.clock).record(
      { environment: null, type: 'operator.signin_throttled', actor: 'anonymous', data: { email } },
      deps.clock(),
      { subject: email.trim().toLowerCase(), address: request.ip },
    );
    reply.header('Retry-After', String(Math.ceil(attempt.retryAfterMs / 1000)));
    throw new AdminError(
      429,
      'too_many_attempts',
      `too many failed attempts; try again in ${Math.ceil(attempt.retryAfterMs / 60_000)} minute(s)`,
    );
  }
  const operator = await deps.stores.operators.findByEmail(email.trim());
  const passwordOk = await verifyPassword(
    operator?.passwordHash ?? (await decoyPasswordHash()),
    password,
  );
  if (operator === undefined || operator.disabled || !passwordOk) {
    deps.metrics?.signInFailed('admin');
    await audit('operator.signin_failed', 'anonymous', {
      email,
      reason:
        operator === undefined
          ? 'unknown_account'
          : operator.disabled
            ? 'disabled'
            : 'bad_password',
    });
    throw new AdminError(401, 'invalid_credentials', 'the email or password is incorrect');
  }
  await attempt.succeeded();
  const previous = request.cookies[ADMIN_COOKIE];
  if (previous !== undefined) {
    const replaced = await deps.stores.operators.findSession(sha256(previous), now);
    await deps.stores.operators.deleteSession(sha256(previous));
    // Another operator taking over this browser must not inherit the previous one's impersonation.
    if (replaced !== undefined && replaced.operatorId !== operator.id)
      await endImpersonationsBy(
        { stores: deps.stores, clock: deps.clock, actor: `operator:${replaced.operatorId}` },
        replaced.operatorId,
      );
  }
  const sessionId = randomToken(32);
  const csrfToken = randomToken(24);
  await deps.stores.operators.createSession({
    idHash: sha256(sessionId),
    operatorId: operator.id,
    csrfToken,
    expiresAt: now + ADMIN_SESSION_TTL_MS,
    createdAt: now,
  });
  reply.setCookie(ADMIN_COOKIE, sessionId, cookieOptions(deps, ADMIN_SESSION_TTL_MS));
  await audit('operator.signed_in', `operator:${operator.id}`, { operatorId: operator.id });
  const result = { operator, csrfToken, sessionHash: sha256(sessionId) };
  signedIn.set(request, result);
  return result;
}

export async function signOutOperator(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const current = operatorOf(request);
  await deps.stores.operators.deleteSession(current.sessionHash);
  reply.clearCookie(ADMIN_COOKIE, { path: '/admin' });
  // Signing out of the console ends what the operator was doing as someone else.
  await endImpersonationsBy(
    { stores: deps.stores, clock: deps.clock, actor: `operator:${current.operator.id}` },
    current.operator.id,
  );
  await deps.stores.audit.append(
    {
      environment: null,
      type: 'operator.signed_out',
      actor: `operator:${current.operator.id}`,
      data: { operatorId: current.operator.id },
    },
    deps.clock(),
  );
}
