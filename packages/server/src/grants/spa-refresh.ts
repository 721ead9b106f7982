import type { Client } from '../storage/clients.js';
import type { RefreshToken } from '../storage/tokens.js';

/**
 * How long a single-page app's refresh tokens may live: at most 24 hours after the user signed in
 * (`auth_time`), however often they are rotated. After that the app sends the user through the
 * authorization endpoint again (without a prompt while the Gatehouse session lasts).
 *
 * Why: a browser app keeps its refresh token where any script running on its origin can read it,
 * so a stolen one must not last. OAuth 2.1 §4.3.1 and RFC 9700 §4.14.2 require refresh tokens of
 * public clients to be sender-constrained or rotated; every client's are rotated, with reuse
 * revoking the whole grant (grants/refresh-token.ts), and RFC 9700 §4.14.2 adds that they may
 * expire sooner for such clients. Other clients keep the general lifetimes (tokens/issue.ts).
 */
export const SPA_REFRESH_ABSOLUTE_TTL_S = 24 * 3600;

/** The issued refresh token, its expiry brought within the spa bound when the client is one. */
export function limitSpaRefresh<T extends { readonly record: RefreshToken }>(
  client: Pick<Client, 'type'>,
  issued: T,
): T {
  if (client.type !== 'spa') return issued;
  const bound = issued.record.authTime + SPA_REFRESH_ABSOLUTE_TTL_S * 1000;
  if (issued.record.expiresAt <= bound) return issued;
  return { ...issued, record: { ...issued.record, expiresAt: bound } };
}
