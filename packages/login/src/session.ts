import * as oauth from 'oauth4webapi';
import { discover, httpOptions, LoginError } from './server-metadata.js';
import { configDir, withProfileLock, type TokenStore } from './token-store.js';
import { toStoredTokens, type StoredTokens } from './tokens.js';

/** Refresh this long before expiry, so a token handed to a script does not die in its hands. */
const REFRESH_MARGIN_MS = 60_000;

/**
 * A valid access token for the profile, refreshed if it is about to expire. Refreshes are
 * serialised across processes; after taking the lock the store is read again, since another
 * process may have refreshed already.
 */
export async function validAccessToken(
  store: TokenStore,
  profile: string,
  options: { lockDir?: string; now?: () => number } = {},
): Promise<StoredTokens> {
  const now = options.now ?? Date.now;
  const current = await store.get(profile);
  if (current === undefined)
    throw new LoginError(
      `not logged in (profile ${profile}); run gatehouse login`,
      'not_logged_in',
    );
  if (current.expiresAt - REFRESH_MARGIN_MS > now()) return current;
  return withProfileLock(options.lockDir ?? configDir(), profile, async () => {
    const latest = await store.get(profile);
    if (latest === undefined)
      throw new LoginError(
        `not logged in (profile ${profile}); run gatehouse login`,
        'not_logged_in',
      );
    if (latest.expiresAt - REFRESH_MARGIN_MS > now()) return latest;
    if (latest.refreshToken === undefined)
      throw new LoginError(
        'the access token expired and there is no refresh token; run gatehouse login again',
        'expired',
      );
    const as = await discover(latest.issuer, {
      allowHttpLoopbackIssuer: latest.allowHttpLoopbackIssuer === true,
    });
    const client: oauth.Client = { client_id: latest.clientId };
    try {
      // Bounded, so a stalled refresh never outlives the lock that protects it.
      const response = await oauth.refreshTokenGrantRequest(
        as,
        client,
        oauth.None(),
        latest.refreshToken,
        {
          ...httpOptions(new URL(as.issuer), {
            allowHttpLoopbackIssuer: latest.allowHttpLoopbackIssuer === true,
          }),
          signal: AbortSignal.timeout(30_000),
        },
      );
      const result = await oauth.processRefreshTokenResponse(as, client, response);
      const refreshed = toStoredTokens(
        as,
        latest.clientId,
        result,
        now(),
        latest,
        latest.allowHttpLoopbackIssuer,
      );
      await store.set(profile, refreshed);
      return refreshed;
    } catch (error) {
      if (error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant') {
        await store.delete(profile);
        throw new LoginError(
          'the session ended at the server (refresh refused); run gatehouse login again',
          'invalid_grant',
        );
      }
      throw new LoginError(
        `refreshing the token failed: ${error instanceof Error ? error.message : 'unknown error'}`,
        'refresh_failed',
      );
    }
  });
}

/** Revokes the refresh token (and with it the grant) at the server where it can, then forgets it. */
export async function logout(
  store: TokenStore,
  profile: string,
): Promise<{ revoked: boolean; known: boolean }> {
  const tokens = await store.get(profile);
  if (tokens === undefined) return { revoked: false, known: false };
  let revoked = false;
  try {
    const as = await discover(tokens.issuer, {
      allowHttpLoopbackIssuer: tokens.allowHttpLoopbackIssuer === true,
    });
    if (as.revocation_endpoint !== undefined) {
      const client: oauth.Client = { client_id: tokens.clientId };
      const http = httpOptions(new URL(as.issuer), {
        allowHttpLoopbackIssuer: tokens.allowHttpLoopbackIssuer === true,
      });
      for (const token of [tokens.refreshToken, tokens.accessToken]) {
        if (token === undefined) continue;
        await oauth.processRevocationResponse(
          await oauth.revocationRequest(as, client, oauth.None(), token, http),
        );
      }
      revoked = true;
    }
  } catch {
    // The server may be gone; forgetting the tokens locally still matters.
  }
  await store.delete(profile);
  return { revoked, known: true };
}
