import { MAX_REDIRECT_URI_LENGTH, type MatchResult } from '@gatehouse/redirect-policy';
import { UnsafeAuthorizationRequest } from '../errors.js';
import type { AppDeps } from '../http/deps.js';
import type { RefusedRedirectStore } from '../storage/refused-redirects.js';
import { repeatedAudit } from '../services/repeated-audit.js';

export type Refusal = Extract<MatchResult, { ok: false }>;

/**
 * A redirect URI the redirect policy refused (RFC 6749 §4.1.2.1: never redirected to). It carries
 * the policy's answer so that `recordRefusedRedirect` can record it before the page is shown.
 */
export class RedirectUriRefused extends Error {
  constructor(
    readonly environment: string,
    readonly clientId: string,
    readonly requested: string,
    readonly refusal: Refusal,
    /** When the request was checked: the time recorded. */
    readonly at: number,
  ) {
    super(refusal.message);
    this.name = 'RedirectUriRefused';
  }

  /**
   * What the browser is shown; the policy's explanation only in development. Sign-out
   * (endpoints/end-session) refuses a post_logout_redirect_uri with its own words.
   */
  page(
    userMessage = 'This application asked to send you somewhere it is not registered to use, so the sign-in was stopped.',
  ): UnsafeAuthorizationRequest {
    const { requested, refusal } = this;
    return new UnsafeAuthorizationRequest(userMessage, {
      message: refusal.message,
      requested,
      ...(refusal.closest === undefined ? {} : { closest: refusal.closest }),
      ...(refusal.diff === undefined
        ? {}
        : { expected: refusal.diff.expected, index: refusal.diff.index }),
    });
  }
}

/**
 * Counts the refusal for the console's "refused redirects" (every one, with the explainer) and
 * audits it (`redirect.refused`): the first per (client, URI, address) in a window at once, the
 * repeats as one `redirect.refused.repeated` entry with their count (services/repeated-audit.ts),
 * so anonymous senders cannot grow the audit log one entry a request.
 */
export async function recordRefusedRedirect(
  deps: AppDeps,
  refused: RedirectUriRefused,
  /** request.ip */
  address: string,
): Promise<void> {
  deps.metrics?.redirectRefused(refused.environment);
  // Independent of the audit entry, so both are written at once (one round trip's wait, not two).
  await Promise.all([
    countRefusal(deps.stores.refusedRedirects, refused),
    auditRefusedRedirect(deps, refused, address, 'redirect.refused'),
  ]);
}

/**
 * A refused post_logout_redirect_uri (end_session): audited as `post_logout_redirect.refused`
 * and counted in a store of its own, for the near misses of post-logout URIs in the redirect
 * inventory. Not among the console's refused redirect URIs: those are offered for registration
 * as redirect URIs, which this is not.
 */
export async function recordRefusedPostLogoutRedirect(
  deps: AppDeps,
  refused: RedirectUriRefused,
  /** request.ip */
  address: string,
): Promise<void> {
  await Promise.all([
    countRefusal(deps.stores.refusedPostLogoutRedirects, refused),
    auditRefusedRedirect(deps, refused, address, 'post_logout_redirect.refused'),
  ]);
}

/**
 * Counted only for values that could ever be registered; the store caps each client's list. The
 * bound is in bytes: the URI is part of the table's key, and PostgreSQL refuses an index entry
 * over 2,704 bytes (2,048 characters of CJK text are 6,144), which made the refusal a 500.
 */
function countRefusal(store: RefusedRedirectStore, refused: RedirectUriRefused): Promise<void> {
  const { environment, clientId, requested, refusal, at } = refused;
  return Buffer.byteLength(requested, 'utf8') <= MAX_REDIRECT_URI_LENGTH
    ? store.record(environment, clientId, requested, refusal.code, at)
    : Promise.resolve();
}

/**
 * The audit entry of a refused redirect URI (or post-logout redirect URI, for sign-out), counted
 * per (client, URI, address) window like every refusal an unauthenticated request can cause.
 */
export function auditRefusedRedirect(
  deps: AppDeps,
  refused: RedirectUriRefused,
  /** request.ip */
  address: string,
  type: 'redirect.refused' | 'post_logout_redirect.refused',
): Promise<void> {
  const { environment, clientId, requested, refusal, at } = refused;
  return repeatedAudit(deps.stores.audit, deps.clock).record(
    {
      environment,
      type,
      actor: `client:${clientId}`,
      clientId,
      // The requested value is recorded for diagnosis; it is untrusted text, never a secret.
      data: {
        policyCode: refusal.code,
        requested: requested.slice(0, 2048),
        closest: refusal.closest ?? null,
        kind: refusal.diff?.kind ?? null,
      },
    },
    at,
    { subject: requested, address },
  );
}
