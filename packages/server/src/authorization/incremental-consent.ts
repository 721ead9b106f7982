/**
 * Incremental authorization: a client that already holds a user's consent and asks for more
 * (a step-up after `insufficient_scope`, RFC 6750 §3.1; MCP authorization 2026-07-28, Step-Up
 * Authorization Flow) shows the user only what is new, beside what was allowed before. The
 * recorded consent becomes the union (storage/consents.ts grant), and the code carries exactly
 * the scopes the request asks for, the accumulated ones included when the client sends them.
 */
import { consentItems } from '../services/resources.js';

export interface ConsentSplit {
  /** Scopes this request asks for that the user has not allowed this client (at this resource). */
  readonly asked: readonly string[];
  /** Scopes this request asks for that the user allowed before. */
  readonly granted: readonly string[];
}

/**
 * Splits a request's scopes by what the user already consented to. A scope counts as granted only
 * at the same resource (consent items carry it), and none does at a resource the user never
 * allowed. When nothing is new (prompt=consent asks again), every scope is asked, as before.
 */
export function splitByConsent(
  scope: readonly string[],
  resource: string | null,
  consented: readonly string[] | undefined,
): ConsentSplit {
  const recorded = new Set(consented ?? []);
  const resourceItem = consentItems([], resource)[0];
  if (recorded.size === 0 || (resourceItem !== undefined && !recorded.has(resourceItem)))
    return { asked: scope, granted: [] };
  const asked: string[] = [];
  const granted: string[] = [];
  for (const s of scope) {
    const [item] = consentItems([s], resource);
    (item !== undefined && recorded.has(item) ? granted : asked).push(s);
  }
  return asked.length === 0 ? { asked: scope, granted: [] } : { asked, granted };
}
