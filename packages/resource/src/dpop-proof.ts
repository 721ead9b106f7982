/**
 * Checking one DPoP proof (RFC 9449 §4.3) for a request to this resource with a bound access
 * token (§7.1). Pure apart from the replay store and the nonce source: it returns what is wrong,
 * with a fixed description, and never throws for what a client sent.
 */
import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  errors,
  jwtVerify,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { DpopNonceSource } from './dpop-nonce.js';
import type { DpopReplayStore } from './dpop-replay.js';

export interface ProofCheckOptions {
  readonly algorithms: readonly string[];
  /** How old a proof's `iat` may be. */
  readonly maxAgeSeconds: number;
  /** How far in the future a proof's `iat` may be (the client's clock running ahead). */
  readonly clockSkewSeconds: number;
  readonly replayStore: DpopReplayStore;
  /** Set when nonces are required (RFC 9449 §9). */
  readonly nonces: DpopNonceSource | undefined;
  readonly clock: () => number;
}

export interface ProofRequest {
  /** Every `DPoP` header line. */
  readonly proofs: readonly string[];
  readonly method: string;
  /** The absolute URI of the request as the client addressed it (query ignored). */
  readonly uri: URL;
  /** The access token sent with the proof, for `ath`. */
  readonly accessToken: string;
  /** The access token's `cnf.jkt`: the proof's key must have this thumbprint. */
  readonly jkt: string;
}

export type ProofCheck =
  | { readonly ok: true; readonly jkt: string }
  | {
      readonly ok: false;
      /**
       * `invalid_dpop_proof` for a bad proof; `invalid_token` when the proof is fine but signed
       * by another key than the token is bound to (RFC 9449 §7.1's own example);
       * `use_dpop_nonce` when a fresh nonce is needed (§9).
       */
      readonly error: 'invalid_dpop_proof' | 'invalid_token' | 'use_dpop_nonce';
      readonly description: string;
    };

/** A proof is a few hundred bytes (an RSA key makes it about 1.5 KB). */
const MAX_PROOF_LENGTH = 8192;
/** RFC 9449 §4.2: jti is a unique identifier; 96 bits of randomness is suggested. */
const MAX_JTI_LENGTH = 256;
/** JWK members that belong to a private or symmetric key (RFC 7518 §6; `priv` for AKP keys). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];

/** RFC 9449 §4.2 `ath`: base64url(SHA-256(ASCII access token)). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/** `htu` is compared without query and fragment (RFC 9449 §4.3 step 9), URLs normalised. */
function withoutQuery(url: URL): string {
  const copy = new URL(url.href);
  copy.search = '';
  copy.hash = '';
  return copy.href;
}

function refuse(
  description: string,
  error: 'invalid_dpop_proof' | 'invalid_token' | 'use_dpop_nonce' = 'invalid_dpop_proof',
): ProofCheck {
  return { ok: false, error, description };
}

/** Checks the proof of a request; the steps are RFC 9449 §4.3's, in order where it matters. */
export async function checkProof(
  request: ProofRequest,
  options: ProofCheckOptions,
): Promise<ProofCheck> {
  // Step 1: exactly one DPoP header.
  if (request.proofs.length === 0)
    return refuse('a DPoP-bound access token must come with a DPoP proof header');
  if (request.proofs.length > 1) return refuse('send exactly one DPoP header');
  const proof = (request.proofs[0] ?? '').trim();
  if (proof.length > MAX_PROOF_LENGTH) return refuse('the DPoP proof is too large');

  // Step 7, said outright before anything else: a header holding a private key is the client's
  // mistake, and a serious one, and is named as such.
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    return refuse('the DPoP proof is malformed');
  }
  // Decoded from the client's JSON: the type says JWK, the value may be anything.
  const headerJwk: unknown = header.jwk;
  if (typeof headerJwk !== 'object' || headerJwk === null)
    return refuse('the DPoP proof has no jwk header');
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(headerJwk, member)))
    return refuse('the DPoP proof jwk header must hold a public key only');

  // Steps 2-8: a well-formed JWT, typ dpop+jwt, an allowed asymmetric algorithm, the signature
  // made by the public key in its `jwk` header. jose's EmbeddedJWK imports only that key, and
  // refuses a private or symmetric one.
  let payload: JWTPayload;
  let jwk: JWK;
  try {
    const verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...options.algorithms],
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      currentDate: new Date(options.clock()),
    });
    payload = verified.payload;
    jwk = verified.protectedHeader.jwk as JWK;
  } catch (error) {
    return refuse(describeJoseError(error));
  }
  const { jti, htm, htu, iat, ath, nonce } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH)
    return refuse('the DPoP proof jti claim is invalid');
  // Step 8: htm is the request's method (RFC 9110 §9.1: methods are case-sensitive).
  if (typeof htm !== 'string' || htm !== request.method)
    return refuse('the DPoP proof htm claim does not match the request method');
  // Step 9: htu is the request's URI, without query and fragment.
  if (typeof htu !== 'string' || !URL.canParse(htu))
    return refuse('the DPoP proof htu claim is not a URL');
  if (withoutQuery(new URL(htu)) !== withoutQuery(request.uri))
    return refuse('the DPoP proof htu claim does not match the request URL');

  // Step 11: iat within the window (required and checked to be a number by jose).
  const now = options.clock() / 1000;
  const issuedAt = iat ?? 0;
  if (issuedAt > now + options.clockSkewSeconds)
    return refuse('the DPoP proof iat claim is in the future');
  if (issuedAt < now - options.maxAgeSeconds) return refuse('the DPoP proof is too old');

  // Step 12: with an access token, ath is its hash.
  if (ath === undefined) return refuse('the DPoP proof has no ath claim');
  if (typeof ath !== 'string' || ath !== accessTokenHash(request.accessToken))
    return refuse('the DPoP proof ath claim does not match the access token');

  // Step 12, the binding: the proof's key is the one the token was issued for (§6.1 cnf.jkt).
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  if (jkt !== request.jkt)
    return refuse('the access token is bound to another key than the DPoP proof', 'invalid_token');

  // Step 10 (§9): the nonce, when required. Checked after the signature, so a nonce is only
  // handed out on the strength of a valid proof by the token's key.
  if (options.nonces !== undefined) {
    if (nonce === undefined)
      return refuse('this resource requires a nonce in the DPoP proof', 'use_dpop_nonce');
    if (typeof nonce !== 'string' || !(await options.nonces.verify(nonce)))
      return refuse('the DPoP proof nonce is invalid or expired', 'use_dpop_nonce');
  }

  // Step 11 (§11.1): each proof once. Last, so a refused proof does not take up room; keyed by
  // the key's thumbprint too, so one client's jti cannot shadow another's.
  const expiresAt = (issuedAt + options.maxAgeSeconds + 1) * 1000;
  if (!(await options.replayStore.useOnce(`${jkt}:${jti}`, expiresAt)))
    return refuse('the DPoP proof has been used before');
  return { ok: true, jkt };
}

/** Fixed descriptions: nothing read from the proof is echoed. */
function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'typ') return 'the DPoP proof typ header must be dpop+jwt';
    if (error.reason === 'missing') {
      switch (error.claim) {
        case 'jti':
        case 'htm':
        case 'htu':
        case 'iat':
          return `the DPoP proof has no ${error.claim} claim`;
        default:
          return 'the DPoP proof lacks a required claim';
      }
    }
    return 'the DPoP proof has an invalid claim';
  }
  if (error instanceof errors.JWTExpired) return 'the DPoP proof has expired';
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'the DPoP proof is signed with an algorithm this resource does not accept';
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'the DPoP proof signature is invalid';
  return 'the DPoP proof is malformed';
}
