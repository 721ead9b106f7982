import { profileDpopKey } from './dpop.js';
import { loopbackLogin, type LoginOptions } from './login-flow.js';
import type { TokenStore } from './token-store.js';
import type { StoredTokens } from './tokens.js';

export interface ProfileLoginOptions extends LoginOptions {
  /**
   * Step-up: ask for `scope` together with the scopes the profile already holds at the same
   * issuer and client, so the new tokens can do what the old ones could and more.
   */
  readonly accumulate?: boolean;
}

const sameIssuer = (a: string, b: string): boolean =>
  a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/**
 * The scopes a profile holds at this issuer and client, for a step-up (`heldScope`); nothing for
 * another issuer or client, whose scopes mean nothing here.
 */
export async function heldScope(
  store: TokenStore,
  profile: string,
  issuer: string | URL,
  clientId: string,
): Promise<string | undefined> {
  const previous = await store.get(profile);
  if (previous?.scope === undefined) return undefined;
  if (previous.clientId !== clientId || !sameIssuer(previous.issuer, new URL(issuer).href))
    return undefined;
  return previous.scope;
}

/**
 * The loopback sign-in for a profile, stored: the profile's DPoP key is created the first time
 * (and used where the server takes DPoP), and with `accumulate` the scopes it holds are asked for
 * again with the new ones (step-up after a 403 `insufficient_scope`).
 */
export async function login(
  store: TokenStore,
  profile: string,
  options: ProfileLoginOptions,
): Promise<StoredTokens> {
  const dpopKey = await profileDpopKey(store, profile);
  const held =
    options.accumulate === true
      ? await heldScope(store, profile, options.issuer, options.clientId)
      : undefined;
  const tokens = await loopbackLogin({
    ...options,
    ...(dpopKey === undefined ? {} : { dpopKey }),
    ...(held === undefined ? {} : { heldScope: held }),
  });
  await store.set(profile, tokens);
  return tokens;
}
