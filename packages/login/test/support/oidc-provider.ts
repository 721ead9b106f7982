/**
 * panva's oidc-provider as a second, independent authorization server for the login kit's tests
 * (and the CLI's): its own development sign-in pages, filled in by headless Chromium.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';

export interface OidcProviderServer {
  readonly issuer: string;
  /** The client registered for the kit: public, native, `http://127.0.0.1/callback`. */
  readonly clientId: string;
  /** Lifetime in seconds of the access tokens issued from now on (default 600). */
  setAccessTokenTtl(seconds: number): void;
  /** Whether an access token is still accepted as a bearer token, asked at the UserInfo endpoint. */
  accepts(accessToken: string): Promise<boolean>;
  /** The DPoP key thumbprint an access token is bound to (its `cnf.jkt`), as the server keeps it. */
  jktOf(accessToken: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * Starts oidc-provider on an ephemeral loopback port. Its defaults are kept where they matter to
 * the kit: a refresh token only when `offline_access` was granted, which it grants only with
 * `prompt=consent` (OIDC Core §11); scope-requested claims such as `email` only from UserInfo
 * once an access token is issued (OIDC Core §5.4, its `conformIdTokenClaims`).
 */
export async function startOidcProvider(
  options: {
    revocation?: boolean;
    /** RFC 9126: every authorization request must be pushed (its metadata says so). */
    requirePar?: boolean;
    /** RFC 9449 §8: every DPoP proof must carry a nonce the server gave. */
    dpopNonce?: boolean;
  } = {},
): Promise<OidcProviderServer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let accessTokenTtl = 600;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'cli',
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    features: {
      revocation: { enabled: options.revocation ?? true },
      // oidc-provider takes DPoP proofs by default; with a nonce secret it can also demand nonces.
      dPoP: {
        enabled: true,
        ...(options.dpopNonce === true
          ? { nonceSecret: randomBytes(32), requireNonce: () => true }
          : {}),
      },
      pushedAuthorizationRequests: {
        enabled: true,
        requirePushedAuthorizationRequests: options.requirePar ?? false,
      },
    },
    pkce: { required: () => true },
    // Its in-memory store keeps an expired token this long; no grace, so expiry is prompt.
    clockTolerance: 0,
    scopes: ['openid', 'offline_access', 'email'],
    claims: { email: ['email'] },
    findAccount: (_ctx, id) =>
      Promise.resolve({
        accountId: id,
        claims: () => Promise.resolve({ sub: id, email: `${id}@example.com` }),
      }),
    ttl: {
      AccessToken: () => accessTokenTtl,
      IdToken: 600,
      RefreshToken: 86_400,
      Grant: 86_400,
      Interaction: 600,
      Session: 86_400,
    },
  });
  const handle = provider.callback();
  server.on('request', (req, res) => {
    void handle(req, res);
  });
  return {
    issuer,
    clientId: 'cli',
    setAccessTokenTtl: (seconds) => {
      accessTokenTtl = seconds;
    },
    jktOf: async (accessToken) =>
      ((await provider.AccessToken.find(accessToken)) as { jkt?: string } | undefined)?.jkt,
    accepts: async (accessToken) =>
      (await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } }))
        .status === 200,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/**
 * oidc-provider's development interactions in Chromium: any login and password, then the
 * consent page's Continue. Resolves once the browser reached the kit's result page, with its
 * final URL.
 */
export async function signInAtOidcProvider(
  browser: Browser,
  url: string,
  login = 'olive',
): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', 'anything');
    await page.click('button[type=submit]');
    await page.click('button[type=submit]');
    await page.waitForURL(/gatehouse-login-done/);
    return page.url();
  } finally {
    await context.close();
  }
}
