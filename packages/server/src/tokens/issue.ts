import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { randomToken, sha256 } from '../crypto/random.js';
import type { SessionClaims } from '../storage/session-claims.js';
import type { Stores } from '../storage/index.js';
import type { RefreshToken } from '../storage/tokens.js';
import type { User } from '../storage/users.js';
import { ES256, RS256, type SigningAlg } from './jws.js';
import type { Signer } from './signer.js';

export const ACCESS_TOKEN_TTL_S = 600;
export const ID_TOKEN_TTL_S = 600;
export const REFRESH_TOKEN_TTL_S = 30 * 24 * 3600;
/** However often it is rotated, a grant ends this long after the sign-in it came from. */
export const REFRESH_ABSOLUTE_TTL_S = 90 * 24 * 3600;

export interface TokenDeps {
  readonly stores: Stores;
  readonly signer: Signer;
  readonly clock: Clock;
}

/**
 * The operator behind an impersonated grant. Tokens carry it as an RFC 8693 §4.1 `act` claim so
 * the application can tell, and never outlive the impersonation.
 */
export interface ActingOperator {
  readonly impersonationId: string;
  readonly operatorId: string;
  readonly operatorEmail: string;
  /** When the impersonation ends (ms): no token of it is valid later. */
  readonly until: number;
}

export function actClaim(acting: ActingOperator | undefined): { act?: Record<string, string> } {
  return acting === undefined
    ? {}
    : { act: { sub: acting.operatorId, email: acting.operatorEmail } };
}

/** The expiry in seconds: the token's own lifetime, cut short by an impersonation's end. */
function expiryOf(iat: number, ttl: number, acting: ActingOperator | undefined): number {
  return acting === undefined ? iat + ttl : Math.min(iat + ttl, Math.floor(acting.until / 1000));
}

export interface AccessTokenRequest {
  readonly environment: string;
  readonly issuer: string;
  readonly clientId: string;
  /** The user, or for client_credentials the client itself (RFC 9068 §2.2). */
  readonly subject: string;
  readonly userId: string | null;
  /** A jti given by the caller (a client_credentials jti block); otherwise a random UUID. */
  readonly jti?: string;
  readonly scope: readonly string[];
  readonly resource: string | null;
  readonly authTime?: number;
  /**
   * The user's grant the token belongs to, carried as `grant_id` (absent for client_credentials):
   * revoking the grant (a `grant` revocation event) revokes the token wherever it is checked.
   */
  readonly grantId?: string;
  readonly acting?: ActingOperator;
  /**
   * A token exchange's own RFC 8693 §4.1 `act` (the delegation chain), for tokens issued without
   * `acting`; with it, `impersonationId` and `notAfter` come from the subject token.
   */
  readonly delegation?: {
    readonly act: Readonly<Record<string, unknown>>;
    readonly impersonationId: string | null;
    /** The token must not outlive this (ms). */
    readonly notAfter: number;
  };
  /**
   * RFC 9449 §6: the thumbprint of the DPoP key the token is bound to, carried as
   * `cnf: { jkt }` (RFC 7800 §3.1); absent for a bearer token.
   */
  readonly dpopJkt?: string;
}

export interface SignedAccessToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly jti: string;
}

/**
 * An RFC 9068 JWT access token. It has no row of its own: its claims are all that introspection
 * and revocation need (services/access-token-status.ts). The caller writes the audit entry that
 * names its `jti`, durably, before handing the token out.
 */
export async function signAccessToken(
  deps: TokenDeps,
  request: AccessTokenRequest,
): Promise<SignedAccessToken> {
  const { acting, delegation } = request;
  if (acting !== undefined && delegation !== undefined)
    throw new TypeError('an access token has one act claim: acting or delegation, not both');
  const now = deps.clock();
  const iat = Math.floor(now / 1000);
  const exp =
    delegation === undefined
      ? expiryOf(iat, ACCESS_TOKEN_TTL_S, acting)
      : Math.min(iat + ACCESS_TOKEN_TTL_S, Math.floor(delegation.notAfter / 1000));
  const jti = request.jti ?? randomUUID();
  const impersonationId = acting?.impersonationId ?? delegation?.impersonationId ?? null;
  const alg = await accessTokenAlgFor(deps, request.environment, request.resource);
  const token = await deps.signer.sign(
    request.environment,
    'at+jwt',
    {
      iss: request.issuer,
      sub: request.subject,
      // Without a resource indicator the audience is this issuer, whose userinfo endpoint accepts it.
      aud: request.resource ?? request.issuer,
      client_id: request.clientId,
      scope: request.scope.join(' '),
      iat,
      exp,
      jti,
      ...(request.authTime === undefined ? {} : { auth_time: Math.floor(request.authTime / 1000) }),
      ...(request.grantId === undefined ? {} : { grant_id: request.grantId }),
      // What ending the impersonation revokes (an `impersonation` revocation event).
      ...(impersonationId === null ? {} : { impersonation_id: impersonationId }),
      ...(delegation === undefined ? actClaim(acting) : { act: delegation.act }),
      ...(request.dpopJkt === undefined ? {} : { cnf: { jkt: request.dpopJkt } }),
    },
    alg,
  );
  return { token, expiresIn: exp - iat, jti };
}

/**
 * The algorithm of an access token for `resource`: ES256 unless the registered resource asks for
 * RS256 (a resource server whose library verifies only RS256). Read from the cached list of the
 * environment's resources, so it costs no query per token.
 */
async function accessTokenAlgFor(
  deps: TokenDeps,
  environment: string,
  resource: string | null,
): Promise<SigningAlg> {
  if (resource === null) return ES256;
  const registered = (await deps.stores.resources.list(environment)).find(
    (r) => r.uri === resource,
  );
  return registered?.accessTokenAlg ?? ES256;
}

export interface RefreshTokenRequest {
  readonly environment: string;
  readonly clientId: string;
  readonly userId: string;
  readonly scope: readonly string[];
  readonly resource: string | null;
  readonly authTime: number;
  readonly familyId: string;
  readonly codeHash: string | null;
  readonly acting?: ActingOperator;
  /** What the grant's ID tokens say of the sign-in, kept for refreshed ID tokens. */
  readonly sessionClaims?: SessionClaims;
  /** RFC 9449 §5: the DPoP key thumbprint a rotation must prove (a public client's token). */
  readonly dpopJkt?: string;
}

/** Every refresh token starts with it: secret scanners can match it, and endpoints tell kinds apart. */
export const REFRESH_TOKEN_PREFIX = 'ghr_';

/** An opaque refresh token and the record to store: only its hash. */
export function newRefreshToken(
  deps: TokenDeps,
  request: RefreshTokenRequest,
): { token: string; record: RefreshToken } {
  const token = `${REFRESH_TOKEN_PREFIX}${randomToken(32)}`;
  const now = deps.clock();
  return {
    token,
    record: {
      tokenHash: sha256(token),
      familyId: request.familyId,
      environment: request.environment,
      clientId: request.clientId,
      userId: request.userId,
      scope: request.scope,
      resource: request.resource,
      authTime: request.authTime,
      codeHash: request.codeHash,
      expiresAt: Math.min(
        now + REFRESH_TOKEN_TTL_S * 1000,
        request.authTime + REFRESH_ABSOLUTE_TTL_S * 1000,
        request.acting?.until ?? Number.MAX_SAFE_INTEGER,
      ),
      impersonationId: request.acting?.impersonationId ?? null,
      ...(request.sessionClaims === undefined ? {} : { sessionClaims: request.sessionClaims }),
      ...(request.dpopJkt === undefined ? {} : { dpopJkt: request.dpopJkt }),
      createdAt: now,
    },
  };
}

/**
 * The algorithm of a client's ID tokens: what it registered (`id_token_signed_response_alg`), or
 * RS256, the default OIDC Registration §2 sets for a client that registered none.
 */
export function idTokenAlgOf(client: {
  readonly idTokenSignedResponseAlg?: SigningAlg | null;
}): SigningAlg {
  return client.idTokenSignedResponseAlg ?? RS256;
}

/**
 * `at_hash` (OIDC Core §3.1.3.6, §3.3.2.11): the base64url of the left half of the hash of the
 * access token's ASCII octets, with the hash of the ID token's `alg` (SHA-256 for RS256 and
 * ES256).
 */
export function accessTokenHash(accessToken: string, alg: SigningAlg): string {
  // RS256 and ES256 both hash with SHA-256; a 384 or 512 algorithm would need its own hash.
  const hashes: Record<SigningAlg, string> = { RS256: 'sha256', ES256: 'sha256' };
  const digest = createHash(hashes[alg]).update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** An OpenID Connect ID token (OIDC Core §2). */
export async function issueIdToken(
  deps: TokenDeps,
  request: {
    environment: string;
    issuer: string;
    clientId: string;
    user: User;
    authTime: number;
    nonce: string | null;
    scope: readonly string[];
    acting?: ActingOperator;
    /** The client's `id_token_signed_response_alg` (idTokenAlgOf). */
    alg: SigningAlg;
    /** The sign-in's sid, amr and acr. */
    sessionClaims?: SessionClaims;
    /** The access token issued with it: its `at_hash` is included. */
    accessToken?: string;
  },
): Promise<string> {
  const iat = Math.floor(deps.clock() / 1000);
  const { sid, amr, acr } = request.sessionClaims ?? {};
  return deps.signer.sign(
    request.environment,
    'JWT',
    {
      iss: request.issuer,
      sub: request.user.id,
      aud: request.clientId,
      // OIDC Core §2: the party the token was issued to; relying parties check it equals their
      // client_id (some require it whatever the audience).
      azp: request.clientId,
      iat,
      exp: expiryOf(iat, ID_TOKEN_TTL_S, request.acting),
      auth_time: Math.floor(request.authTime / 1000),
      ...(request.nonce === null ? {} : { nonce: request.nonce }),
      ...(sid === undefined ? {} : { sid }),
      ...(amr === undefined ? {} : { amr: [...amr] }),
      ...(acr === undefined ? {} : { acr }),
      ...(request.accessToken === undefined
        ? {}
        : { at_hash: accessTokenHash(request.accessToken, request.alg) }),
      ...userClaims(request.user, request.scope),
      ...actClaim(request.acting),
    },
    request.alg,
  );
}

/** Claims released for the granted scopes (OIDC Core §5.4). */
export function userClaims(user: User, scope: readonly string[]): Record<string, string | boolean> {
  return {
    ...(scope.includes('email')
      ? { email: user.email, email_verified: user.emailVerified === true }
      : {}),
    ...(scope.includes('profile') && user.name !== null ? { name: user.name } : {}),
  };
}
