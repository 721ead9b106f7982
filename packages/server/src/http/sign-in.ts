import type { FastifyReply, FastifyRequest } from 'fastify';
import { decoyPasswordHash, verifyPassword } from '../crypto/passwords.js';
import { randomToken, sha256 } from '../crypto/random.js';
import { emailKey, type User } from '../storage/users.js';
import { cookieOptions, SESSION_COOKIE, SESSION_TTL_MS } from './cookies.js';
import type { AppDeps, EnvironmentContext } from './deps.js';
import { repeatedAudit } from '../services/repeated-audit.js';
import { endSession } from '../services/logout.js';

export const GENERIC_FAILURE = 'The email or password is incorrect.';

export type SignInOutcome =
  { ok: true; user: User; authTime: number } | { ok: false; status: number; message: string };

/**
 * Checks an email and password and starts a session: limited per (account, address) and per
 * address, slowed down per account (services/sign-in-limits.ts), the
 * same answer and the same work for a wrong password and an unknown account, a new session id at
 * every sign-in (a session fixed before sign-in is worth nothing after it). Used by every page
 * that signs a user in.
 */
export async function signIn(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
  reply: FastifyReply,
  email: string,
  password: string,
  /** Recorded with the success in the audit log: which client the sign-in was for. */
  purpose: Readonly<Record<string, unknown>>,
): Promise<SignInOutcome> {
  const env = requestEnv.environment.name;
  const now = deps.clock();
  const audit = (type: string, userId: string | null, data: Record<string, unknown>) =>
    deps.stores.audit.append(
      {
        environment: env,
        type,
        actor: userId === null ? 'anonymous' : `user:${userId}`,
        userId,
        data,
      },
      deps.clock(),
    );

  // Counted before the password is checked, so parallel guesses cannot all pass one count.
  const attempt = await deps.signInLimits.reserve(
    `signin:${env}`,
    emailKey(email),
    request.ip,
    now,
  );
  if (!attempt.granted) {
    // Unauthenticated and repeatable at will: the first per (account, address) and window is
    // audited, the repeats counted (services/repeated-audit.ts).
    await repeatedAudit(deps.stores.audit, deps.clock).record(
      {
        environment: env,
        type: 'signin.throttled',
        actor: 'anonymous',
        userId: null,
        data: { email },
      },
      deps.clock(),
      { subject: emailKey(email), address: request.ip },
    );
    reply.header('Retry-After', String(Math.ceil(attempt.retryAfterMs / 1000)));
    return {
      ok: false,
      status: 429,
      message: `Too many failed attempts. Try again in ${Math.ceil(attempt.retryAfterMs / 60_000)} minute(s).`,
    };
  }
  const user = await deps.stores.users.findByEmail(env, email);
  // Verify against a decoy when there is no such account, so timing does not reveal which emails exist.
  const passwordOk = await verifyPassword(
    user?.passwordHash ?? (await decoyPasswordHash()),
    password,
  );
  if (user === undefined || user.disabled || user.passwordHash === null || !passwordOk) {
    deps.metrics?.signInFailed(env);
    await audit('signin.failed', user?.id ?? null, {
      email,
      reason: user === undefined ? 'unknown_account' : user.disabled ? 'disabled' : 'bad_password',
    });
    return { ok: false, status: 401, message: GENERIC_FAILURE };
  }
  await attempt.succeeded();

  const previous = request.cookies[SESSION_COOKIE];
  const replaced =
    previous === undefined
      ? undefined
      : await deps.stores.sessions.find(env, sha256(previous), now);
  if (previous !== undefined && replaced === undefined)
    await deps.stores.sessions.delete(env, sha256(previous));
  // The same user signing in again (prompt=login, max_age) stays the same session to the clients:
  // it keeps its sid, so their ID tokens and a later logout token still name it. Another user's
  // sign-in ends the previous user's session, and its clients are told (Back-Channel Logout).
  let sid = randomToken(16);
  if (replaced !== undefined) {
    if (replaced.userId === user.id && replaced.sid !== null) {
      sid = replaced.sid;
      await deps.stores.sessions.delete(env, replaced.idHash);
      // Its clients must still be told when it ends: their records live as long as it now does
      // (Back-Channel Logout 1.0 §2.7; housekeeping drops records past their expiry).
      await deps.stores.sessionClients.extend(env, sid, now + SESSION_TTL_MS);
    } else
      await endSession(
        { stores: deps.stores, clock: deps.clock, actor: `user:${replaced.userId}` },
        { environment: env, session: replaced, clientId: null, reason: 'replaced' },
      );
  }
  const sessionId = randomToken(32);
  await deps.stores.sessions.create({
    idHash: sha256(sessionId),
    environment: env,
    userId: user.id,
    sid,
    authTime: now,
    expiresAt: now + SESSION_TTL_MS,
    createdAt: now,
  });
  reply.setCookie(SESSION_COOKIE, sessionId, cookieOptions(deps, env, SESSION_TTL_MS));
  await audit('signin.succeeded', user.id, purpose);
  return { ok: true, user, authTime: now };
}
