/**
 * What an authorization request needs next: a sign-in, a consent, a confirmation, or its code. A
 * pure function of what is already known, so /authorize and each interaction after it decide
 * alike, and every case is testable as a row of a table (OIDC Core §3.1.2.1 prompt and max_age,
 * §3.1.2.3, §3.1.2.4; RFC 8252 §8.6 for public clients).
 */
import { ConsentRequired, InteractionRequired, LoginRequired, type OAuthError } from '../errors.js';
import { consentItems } from '../services/resources.js';
import { isPublicClient, type Client } from '../storage/clients.js';
import type { StoredAuthorization } from './parked.js';

export interface SignInFacts {
  readonly request: Pick<
    StoredAuthorization,
    'clientId' | 'scope' | 'resource' | 'prompt' | 'maxAge' | 'createdAt' | 'signedInAt'
  >;
  /** The browser's own session, if it has one (its sid for the ID tokens; not decided on). */
  readonly session:
    | { readonly userId: string; readonly authTime: number; readonly sid?: string | null }
    | undefined;
  /** The operator's impersonation this browser carries, if any. */
  readonly impersonation: { readonly clientId: string } | undefined;
  /** The client as it is now (undefined once deleted). */
  readonly client: Pick<Client, 'skipConsent' | 'type'> | undefined;
  /** What the user has consented to for this client; undefined when nothing is recorded. */
  readonly consented: readonly string[] | undefined;
  readonly now: number;
}

export type NextStep =
  | { readonly kind: 'login' }
  | { readonly kind: 'consent' }
  /**
   * A public client's request, already signed in and consented to: the user confirms this very
   * request (which application, which account, where the browser goes) before the code is sent.
   */
  | { readonly kind: 'confirm'; readonly userId: string; readonly authTime: number }
  | { readonly kind: 'code'; readonly userId: string; readonly authTime: number }
  /** Sent back to the client's redirect URI. */
  | { readonly kind: 'error'; readonly error: OAuthError }
  /** Shown to the operator, never sent to the other application. */
  | { readonly kind: 'impersonating-another-client' };

export function decideNext(facts: SignInFacts): NextStep {
  const { request, session, impersonation, client } = facts;
  // OIDC Core §3.1.2.1: with prompt=none the server MUST NOT show any page; it answers with
  // login_required, consent_required or interaction_required instead.
  const silent = request.prompt.includes('none');
  if (impersonation !== undefined) {
    if (impersonation.clientId !== request.clientId)
      return { kind: 'impersonating-another-client' };
    // The operator confirms on the consent page (with the banner) every time; nothing is remembered.
    return silent ? { kind: 'error', error: new ConsentRequired() } : { kind: 'consent' };
  }
  if (session === undefined || signInTooOld(facts, session.authTime))
    return silent ? { kind: 'error', error: new LoginRequired() } : { kind: 'login' };
  if (client === undefined)
    return { kind: 'error', error: new LoginRequired('the client no longer exists') };
  if (!client.skipConsent && consentMissing(facts))
    return silent ? { kind: 'error', error: new ConsentRequired() } : { kind: 'consent' };
  // RFC 8252 §8.6: any program can send a public client's client_id with its own loopback port
  // and PKCE challenge, so what was approved before stands for nothing. Without an interaction in
  // this very request (a sign-in made for it; the consent page is one too, and answers itself),
  // the user confirms it. Neither a stored consent nor skip consent spares this.
  if (isPublicClient(client) && !signedInForThisRequest(facts, session.authTime)) {
    return silent
      ? { kind: 'error', error: new InteractionRequired() }
      : { kind: 'confirm', userId: session.userId, authTime: session.authTime };
  }
  return { kind: 'code', userId: session.userId, authTime: session.authTime };
}

/**
 * The session's sign-in was made on this request's own login page: the user acted for this very
 * request. A sign-in merely newer than the request may have been made elsewhere in the browser
 * (another tab, the device page) while this one waited unseen, so it does not count.
 */
function signedInForThisRequest({ request }: SignInFacts, authTime: number): boolean {
  return request.signedInAt !== undefined && request.signedInAt === authTime;
}

/** prompt=login and max_age ask for a sign-in newer than the session's (OIDC Core §3.1.2.1). */
function signInTooOld(facts: SignInFacts, authTime: number): boolean {
  const { request, now } = facts;
  // A sign-in made for this very request satisfies both, even max_age=0.
  const forThisRequest = signedInForThisRequest(facts, authTime);
  if (request.prompt.includes('login') && !forThisRequest) return true;
  return request.maxAge !== null && now - authTime > request.maxAge * 1000 && !forThisRequest;
}

/** Whether the user has yet to consent to what this request asks (prompt=consent always asks). */
function consentMissing({ request, consented }: SignInFacts): boolean {
  if (request.prompt.includes('consent')) return true;
  const granted = consented ?? [];
  const wanted = consentItems(request.scope, request.resource);
  // Nothing recorded means no consent yet, even for a request that asks for no scope.
  return !(granted.length > 0 && wanted.every((item) => granted.includes(item)));
}
