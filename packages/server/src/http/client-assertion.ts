import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { InvalidClient } from '../errors.js';
import { ClientKeyError } from '../services/client-keys.js';
import { repeatedAudit } from '../services/repeated-audit.js';
import { isPublicClient, type Client } from '../storage/clients.js';
import type { AppDeps } from './deps.js';

/** RFC 7523 §2.2: the one assertion type this server accepts. */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * The algorithms a client assertion may be signed with, exactly what discovery advertises
 * (`token_endpoint_auth_signing_alg_values_supported`). Asymmetric only: never `none` (RFC 7518
 * §3.6, unsecured) and never HS* (a verifier holding only public keys must not be talked into
 * using one as an HMAC secret); the client's keys are public ones anyway (services/client-keys.ts).
 * Ed25519 keys sign as `EdDSA` (RFC 8037) or as `Ed25519` (RFC 9864's fully-specified name, what
 * oauth4webapi and openid-client send for such a key).
 */
export const CLIENT_ASSERTION_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'] as const;

/** Clock difference tolerated between the client and this server, on exp, nbf and iat. */
export const ASSERTION_CLOCK_TOLERANCE_S = 30;
/**
 * How far in the future an assertion's `exp` may be, counted from this server's clock (not from
 * the client's `iat`, which the client chooses too): RFC 7523 §3 item 4 lets the server refuse an
 * unreasonably far expiry, and a bound keeps the jti table (one row per assertion until its
 * expiry) and the window for a stolen assertion small. Libraries send 60 s.
 */
export const MAX_ASSERTION_LIFETIME_S = 300;
/**
 * How long a jti is kept beyond the moment its assertion stops being accepted here. Processes'
 * clocks differ a little: without a margin, a process whose clock is behind another's could
 * still accept an assertion whose row the other process's housekeeping has just removed.
 */
export const JTI_RETENTION_MARGIN_MS = 60_000;
/** A jti is stored: a client gets no more room than a reasonable unique identifier needs. */
const MAX_JTI_LENGTH = 256;

const refused = (why: string) => new InvalidClient(`client assertion refused: ${why}`);

/**
 * The client an assertion says it is from, read before its signature is checked, only to find the
 * client and its keys. RFC 7523 §3 items 1 and 2: for client authentication `iss` and `sub` are
 * both the client_id.
 */
export function assertionClientId(assertion: string): string {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(assertion);
  } catch {
    throw refused('it is not a JWT');
  }
  const { iss, sub } = payload;
  if (typeof iss !== 'string' || iss === '' || typeof sub !== 'string')
    throw refused('iss and sub must both be the client_id');
  if (iss !== sub) throw refused('iss and sub must both be the client_id (RFC 7523 §3)');
  return sub;
}

/**
 * Verifies a `private_key_jwt` client assertion (RFC 7523 §3, OIDC Core §9) presented by `client`
 * at `presentedAt` (the URL of the endpoint receiving it), and records its `jti` as used. Any
 * failure is `invalid_client` (RFC 7521 §4.2.1). Checks, in order: the client is registered for
 * this method (so a client with a secret cannot switch to keys, nor one with keys to a secret);
 * the algorithm is on the list; the signature verifies with one of the client's keys; iss = sub
 * = client_id; `aud` names this server (its issuer, its token endpoint, or the endpoint the
 * assertion is presented at: introspection, revocation, PAR); `exp` present, not past and not
 * more than five minutes ahead; `iat` and `nbf`, if present, not in the future; `jti` present
 * and never used before by this client, on any process (the database's jti table).
 */
export async function verifyClientAssertion(
  deps: AppDeps,
  environment: string,
  client: Client,
  assertion: string,
  audiences: readonly string[],
  /** The sender's address (request.ip), for the audit of a replay. */
  address: string,
): Promise<void> {
  if (isPublicClient(client) || client.tokenEndpointAuthMethod !== 'private_key_jwt')
    throw refused('this client is not registered for private_key_jwt');
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(assertion).alg;
  } catch {
    throw refused('its header is not readable');
  }
  if (typeof alg !== 'string' || !(CLIENT_ASSERTION_ALGS as readonly string[]).includes(alg))
    throw refused(
      `alg ${typeof alg === 'string' ? alg.slice(0, 16) : '(none)'} is not accepted; use one of ${CLIENT_ASSERTION_ALGS.join(', ')}`,
    );
  const env = await deps.stores.environments.get(environment);
  if (env === undefined) throw new InvalidClient('unknown environment');
  const now = deps.clock();
  let payload: JWTPayload;
  try {
    payload = await verifiedWithAnyKey(assertion, deps.clientKeys.resolver(env, client), {
      algorithms: [...CLIENT_ASSERTION_ALGS],
      issuer: client.clientId,
      subject: client.clientId,
      audience: [...audiences],
      requiredClaims: ['exp', 'jti'],
      clockTolerance: ASSERTION_CLOCK_TOLERANCE_S,
      currentDate: new Date(now),
    });
  } catch (error) {
    throw refused(reason(error));
  }
  // Every audience must be this server: jose accepts a list with one match, but an assertion
  // also addressed to another server could be replayed there or came from one (audience injection,
  // draft-ietf-oauth-rfc7523bis). A list of this server's own names (openid-client 5 sent the
  // issuer and the token endpoint) is fine.
  if (Array.isArray(payload.aud) && payload.aud.some((aud) => !audiences.includes(aud)))
    throw refused('its aud names another server too');
  const nowS = Math.floor(now / 1000);
  const exp = payload.exp ?? 0;
  if (exp > nowS + MAX_ASSERTION_LIFETIME_S + ASSERTION_CLOCK_TOLERANCE_S)
    throw refused(`exp is more than ${MAX_ASSERTION_LIFETIME_S} seconds ahead`);
  if (payload.iat !== undefined && payload.iat > nowS + ASSERTION_CLOCK_TOLERANCE_S)
    throw refused('iat is in the future');
  const jti = payload.jti;
  // Stored as text: a control character (PostgreSQL's text cannot hold NUL) is no identifier.
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH || /\p{Cc}/u.test(jti))
    throw refused(
      `jti must be a string of 1 to ${MAX_JTI_LENGTH} characters, without control characters`,
    );
  // RFC 7523 §3 item 7: used once. Remembered until the assertion could no longer be accepted
  // anyway (its exp, with the tolerance), and a margin for other processes' clocks, so a replay
  // is refused here or as expired.
  const first = await deps.stores.clientAssertionJtis.use(
    environment,
    client.clientId,
    jti,
    (exp + ASSERTION_CLOCK_TOLERANCE_S) * 1000 + JTI_RETENTION_MARGIN_MS,
    now,
  );
  if (!first) {
    // A signed assertion seen twice was copied: the client should know its assertions leak. One
    // entry per jti and address a window, repeats counted (services/repeated-audit.ts), so a
    // copy replayed in a loop does not grow the log.
    await repeatedAudit(deps.stores.audit, deps.clock).record(
      {
        environment,
        type: 'client.assertion_replayed',
        actor: `client:${client.clientId}`,
        clientId: client.clientId,
        data: { jti: jti.slice(0, MAX_JTI_LENGTH) },
      },
      now,
      { subject: jti, address },
    );
    throw refused('this assertion (its jti) was used before');
  }
}

/**
 * The verified claims. When several of the client's keys fit the header (no `kid`, or one kid on
 * several keys), each is tried in turn (RFC 7515 §4.1.4 makes `kid` only a hint): a client that
 * registered its keys without kids can still rotate them. A failure other than the signature
 * (expired, wrong aud) comes from the key that verified, and is the answer.
 */
async function verifiedWithAnyKey(
  assertion: string,
  keys: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(assertion, keys, options)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return (await jwtVerify(assertion, key, options)).payload;
      } catch (attempt) {
        if (!(attempt instanceof errors.JWSSignatureVerificationFailed)) throw attempt;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** What went wrong, in words a client developer can act on; nothing of the keys themselves. */
function reason(error: unknown): string {
  if (error instanceof ClientKeyError) return error.message;
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud')
      return 'its aud does not name this server (its issuer or the endpoint it is sent to)';
    if (error.reason === 'missing') return `it has no ${error.claim} claim`;
    return `its ${error.claim} claim is not acceptable`;
  }
  if (error instanceof errors.JWKSNoMatchingKey)
    return "no key of the client's key set matches it (kid and alg)";
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'its signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'its alg is not accepted';
  return 'it is not a valid signed JWT';
}
