import * as oauth from 'oauth4webapi';
import type { DpopKey } from './dpop-key.js';
import { dpopProof, rememberNonce } from './dpop-proof.js';
import { bindingKey, withNonceRetry } from './dpop.js';
import { discover, httpOptions, LoginError } from './server-metadata.js';
import { configDir, keepsDpopKeys, withProfileLock, type TokenStore } from './token-store.js';
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
    // RFC 9449 §5: bound tokens are refreshed with a proof of the same key (a public client's
    // refresh token is bound too); without that key nothing is sent. Unbound tokens from before
    // stay bearer: their refresh goes without a proof, as they were issued.
    // A refresh token bound where the access token came back Bearer (RFC 9449 §5) needs one too.
    const dpop = await bindingKey(store, profile, latest, latest.refreshJkt ?? latest.dpopJkt);
    const as = await discover(latest.issuer, {
      allowHttpLoopbackIssuer: latest.allowHttpLoopbackIssuer === true,
    });
    const client: oauth.Client = { client_id: latest.clientId };
    const refreshToken = latest.refreshToken;
    try {
      const result = await withNonceRetry(async () => {
        // Bounded, so a stalled refresh never outlives the lock that protects it.
        const response = await oauth.refreshTokenGrantRequest(
          as,
          client,
          oauth.None(),
          refreshToken,
          {
            ...httpOptions(new URL(as.issuer), {
              allowHttpLoopbackIssuer: latest.allowHttpLoopbackIssuer === true,
            }),
            signal: AbortSignal.timeout(30_000),
            ...(dpop === undefined ? {} : { DPoP: dpop.handle }),
          },
        );
        return oauth.processRefreshTokenResponse(as, client, response);
      });
      // OIDC Core §12.2: an ID token from a refresh MUST name the same sub as the sign-in's. One
      // naming somebody else is not kept, nor is the profile: it would show the sign-in's email
      // next to another person's tokens.
      const sub = oauth.getValidatedIdTokenClaims(result)?.sub;
      if (sub !== undefined && latest.subject !== undefined && sub !== latest.subject) {
        await store.delete(profile);
        throw new LoginError(
          'the server answered the refresh with an ID token for another person (its sub differs from the sign-in); run gatehouse login again',
          'subject_mismatch',
        );
      }
      const refreshed = toStoredTokens(
        as,
        latest.clientId,
        result,
        now(),
        latest,
        latest.allowHttpLoopbackIssuer,
        dpop?.jkt,
      );
      await store.set(profile, refreshed);
      return refreshed;
    } catch (error) {
      if (error instanceof LoginError) throw error;
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

/** What `logout` did. */
export interface LogoutResult {
  /** Whether the profile had tokens at all. */
  readonly known: boolean;
  /** Whether the server confirmed the revocation (RFC 7009). */
  readonly revoked: boolean;
  /**
   * Why not, when tokens were known but not revoked: `not_offered` (the server's metadata names no
   * `revocation_endpoint`, so it offers no revocation), `unreachable` (no answer from the server or
   * its metadata), `refused` (the server answered with an error, in `error`).
   */
  readonly notRevoked?: 'not_offered' | 'unreachable' | 'refused';
  readonly error?: string;
}

const REVOCATION_TIMEOUT_MS = 10_000;

/**
 * Revokes the refresh token (and with it the grant) and the access token at the server where it
 * offers revocation, then forgets them here in every case: the local copy goes even when the
 * server cannot help.
 */
export async function logout(store: TokenStore, profile: string): Promise<LogoutResult> {
  const tokens = await store.get(profile);
  // The key goes too: the next sign-in of this profile makes a new one.
  const forgetKey = async () => {
    if (keepsDpopKeys(store)) await store.deleteDpopKey(profile);
  };
  if (tokens === undefined) {
    await forgetKey();
    return { revoked: false, known: false };
  }
  const key = await bindingKey(store, profile, tokens, tokens.dpopJkt ?? tokens.refreshJkt).catch(
    () => undefined,
  );
  const result = await revoke(tokens, key);
  await store.delete(profile);
  await forgetKey();
  return { known: true, ...result };
}

async function revoke(
  tokens: StoredTokens,
  dpop: DpopKey | undefined,
): Promise<Omit<LogoutResult, 'known'>> {
  const server = { allowHttpLoopbackIssuer: tokens.allowHttpLoopbackIssuer === true };
  let as: oauth.AuthorizationServer;
  try {
    as = await discover(tokens.issuer, server);
  } catch {
    return { revoked: false, notRevoked: 'unreachable' };
  }
  // RFC 7009 §4 / RFC 8414 §2: a server that revokes tokens says where; one that does not simply
  // has no such endpoint, which is not a failure to reach it.
  if (as.revocation_endpoint === undefined) return { revoked: false, notRevoked: 'not_offered' };
  const client: oauth.Client = { client_id: tokens.clientId };
  let revokedRefreshToken = false;
  for (const [kind, token] of [
    ['refresh_token', tokens.refreshToken],
    ['access_token', tokens.accessToken],
  ] as const) {
    if (token === undefined) continue;
    const endpoint = as.revocation_endpoint;
    try {
      await withNonceRetry(async () => {
        // RFC 7009 defines no proof; a bound token's revocation carries one anyway (the server may
        // ask who holds the key before it acts on a bound token). oauth4webapi adds none here.
        const headers =
          dpop === undefined
            ? undefined
            : { dpop: await dpopProof(dpop, { method: 'POST', url: endpoint }) };
        const response = await oauth.revocationRequest(as, client, oauth.None(), token, {
          ...httpOptions(new URL(as.issuer), server),
          signal: AbortSignal.timeout(REVOCATION_TIMEOUT_MS),
          additionalParameters: { token_type_hint: kind },
          ...(headers === undefined ? {} : { headers }),
        });
        if (dpop !== undefined) rememberNonce(dpop, endpoint, response);
        await oauth.processRevocationResponse(response);
      });
      if (kind === 'refresh_token') revokedRefreshToken = true;
    } catch (error) {
      // RFC 7009 §2.2.1: a server may revoke refresh tokens only; the grant is gone with the
      // refresh token and the access token dies with its short life.
      if (
        kind === 'access_token' &&
        revokedRefreshToken &&
        error instanceof oauth.ResponseBodyError &&
        error.error === 'unsupported_token_type'
      )
        continue;
      if (error instanceof oauth.ResponseBodyError)
        return { revoked: false, notRevoked: 'refused', error: error.error };
      if (error instanceof oauth.OperationProcessingError)
        return { revoked: false, notRevoked: 'refused', error: 'invalid_response' };
      return { revoked: false, notRevoked: 'unreachable' };
    }
  }
  return { revoked: true };
}
