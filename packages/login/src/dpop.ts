import * as oauth from 'oauth4webapi';
import { generateDpopKey, loadDpopKey, type DpopKey } from './dpop-key.js';
import { LoginError } from './server-metadata.js';
import { keepsDpopKeys, type TokenStore } from './token-store.js';
import type { StoredTokens } from './tokens.js';

/**
 * The profile's DPoP key, created (and stored) the first time: one key per profile, kept across
 * sign-ins and refreshes until logout. Undefined for a store that keeps no keys (one written
 * outside this package): such a profile signs in with bearer tokens as before.
 */
export async function profileDpopKey(
  store: TokenStore,
  profile: string,
): Promise<DpopKey | undefined> {
  if (!keepsDpopKeys(store)) return undefined;
  const existing = await store.getDpopKey(profile);
  // addDpopKey keeps the first key written: two sign-ins at once end up with the same key.
  const stored = existing ?? (await store.addDpopKey(profile, await generateDpopKey()));
  return loadDpopKey(stored);
}

/**
 * The key bound tokens need. Tokens bound to a key this store does not hold (a token file copied
 * without its key, or a key deleted since) are refused here: every server and API that checks
 * DPoP would refuse them anyway (RFC 9449 §7), and a bearer retry would only leak them.
 */
export async function bindingKey(
  store: TokenStore,
  profile: string,
  tokens: StoredTokens,
  /** The thumbprint needed: the access token's binding, unless the caller names another (refresh). */
  jkt: string | undefined = tokens.dpopJkt,
): Promise<DpopKey | undefined> {
  if (jkt === undefined) return undefined;
  const stored = keepsDpopKeys(store) ? await store.getDpopKey(profile) : undefined;
  if (stored?.jkt !== jkt)
    throw new LoginError(
      `the tokens of profile ${profile} are bound to a DPoP key that is not in this token store (copied without it, or the key was removed); run gatehouse login again`,
      'dpop_key_missing',
    );
  return loadDpopKey(stored);
}

/** Whether the server takes DPoP proofs we can make (RFC 9449 §5.1 metadata, ES256). */
export function serverTakesDpop(as: oauth.AuthorizationServer): boolean {
  const algs = as.dpop_signing_alg_values_supported;
  return Array.isArray(algs) && algs.includes('ES256');
}

/**
 * Runs a request (and the processing of its answer) again once when the server asked for a
 * DPoP nonce (RFC 9449 §8: 400 `use_dpop_nonce`; §9: 401 with a DPoP challenge). oauth4webapi's
 * handle has kept the nonce from the answer, so the second proof carries it.
 */
export async function withNonceRetry<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return work();
  }
}
