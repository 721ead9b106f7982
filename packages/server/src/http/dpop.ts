import type { FastifyReply, FastifyRequest } from 'fastify';
import { DpopResourceError, InvalidDpopProof, UseDpopNonce, type OAuthError } from '../errors.js';
import type { EnvironmentContext } from '../services/environments.js';
import { repeatedAudit } from '../services/repeated-audit.js';
import {
  DPOP_ALGS,
  DPOP_IAT_PAST_S,
  DpopProofError,
  verifyDpopProof,
  type DpopProofResult,
} from '../tokens/dpop-proof.js';
import type { AppDeps } from './deps.js';

/**
 * How long a proof's jti is kept beyond the moment its `iat` leaves the window: processes' clocks
 * differ a little, and one whose clock is behind must not accept a proof whose row another
 * process's housekeeping has just removed (as for client assertions, http/client-assertion.ts).
 */
export const DPOP_JTI_RETENTION_MARGIN_MS = 60_000;

/** The endpoints that take proofs, by their path under the issuer. */
export type DpopEndpoint = '/token' | '/par' | '/userinfo';

/**
 * How a refusal is answered: at the token and PAR endpoints as RFC 9449 §5 errors (400, JSON); at
 * userinfo, a protected resource, as 401 with a `WWW-Authenticate: DPoP` challenge (§7.1).
 */
export type DpopAnswer = 'token-endpoint' | 'resource';

export interface DpopCheck {
  readonly endpoint: DpopEndpoint;
  readonly answer: DpopAnswer;
  /** Whether the proof must carry a server-provided nonce (RFC 9449 §8). */
  readonly requireNonce: boolean;
  /** At a protected resource: the access token the proof goes with (`ath`, RFC 9449 §4.3). */
  readonly accessToken?: string;
  /** The authenticated client (token, PAR), for the audit of a replayed proof. */
  readonly clientId?: string;
}

/**
 * The values of the request's `DPoP` headers: none, one, or (refused) several. RFC 9449 §4.3 item 1: "There is
 * not more than one DPoP HTTP request header field": two are refused, not one picked, whether
 * sent as two lines or as one comma-separated line (RFC 9110 §5.3; a JWS never holds a comma).
 */
export function dpopHeaderValues(request: FastifyRequest): readonly string[] {
  const raw = request.raw.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]?.toLowerCase() === 'dpop') values.push(...(raw[i + 1] ?? '').split(','));
  return values;
}

/**
 * The request's DPoP proof, verified (tokens/dpop-proof.ts), its nonce checked when required,
 * and its jti recorded as used for its key across processes; undefined when the request has no
 * `DPoP` header. Refusals are thrown as `check.answer` says.
 */
export async function checkDpopProof(
  deps: AppDeps,
  request: FastifyRequest,
  requestEnv: EnvironmentContext,
  check: DpopCheck,
): Promise<DpopProofResult | undefined> {
  const refuse = refusal(deps, requestEnv, check.answer);
  const [header, ...more] = dpopHeaderValues(request);
  if (header === undefined) return undefined;
  if (more.length > 0) throw refuse.invalid('send exactly one DPoP header');
  const env = requestEnv.environment.name;
  const now = deps.clock();
  let proof: DpopProofResult;
  try {
    proof = await verifyDpopProof(header.trim(), {
      htm: request.method,
      // RFC 9449 §4.3 item 9: the URL this server is known by (its issuer, which behind a proxy
      // is the public base URL), never one made from the request's Host header.
      htu: `${requestEnv.issuer}${check.endpoint}`,
      ...(check.accessToken === undefined ? {} : { accessToken: check.accessToken }),
      now,
    });
  } catch (error) {
    if (error instanceof DpopProofError) throw refuse.invalid(error.message);
    throw error;
  }
  // RFC 9449 §8: checked before the jti is spent, so the retry with a nonce, a new proof with a
  // new jti, is all the client has to do.
  if (check.requireNonce && !nonceAccepted(deps, env, proof.nonce, now))
    throw refuse.nonce(
      proof.nonce === undefined
        ? 'the DPoP proof must carry the nonce sent in the DPoP-Nonce header'
        : 'the DPoP proof nonce is not current: use the one in the DPoP-Nonce header',
    );
  // RFC 9449 §11.1: used once. Remembered until its iat leaves the window (then it is refused
  // for that alone), with a margin for other processes' clocks.
  const first = await deps.stores.dpopProofJtis.use(
    env,
    proof.jkt,
    proof.jti,
    // Whole milliseconds: a NumericDate may be fractional (RFC 7519 §2), the column is an integer.
    Math.ceil((proof.iat + DPOP_IAT_PAST_S) * 1000) + DPOP_JTI_RETENTION_MARGIN_MS,
    now,
  );
  if (!first) {
    // A proof seen twice was copied: the key's holder should know. One entry per proof and
    // address a window, repeats counted (services/repeated-audit.ts), so a replay loop does not
    // grow the log. The thumbprint names the key, never anything secret.
    await repeatedAudit(deps.stores.audit, deps.clock).record(
      {
        environment: env,
        type: 'dpop.proof_replayed',
        actor: check.clientId === undefined ? 'anonymous' : `client:${check.clientId}`,
        ...(check.clientId === undefined ? {} : { clientId: check.clientId }),
        data: { jkt: proof.jkt, jti: proof.jti, endpoint: check.endpoint },
      },
      now,
      { subject: `${proof.jkt} ${proof.jti}`, address: request.ip },
    );
    throw refuse.invalid('DPoP proof refused: this proof (its jti) was used before');
  }
  return proof;
}

function nonceAccepted(
  deps: AppDeps,
  environment: string,
  nonce: string | undefined,
  now: number,
): boolean {
  return nonce !== undefined && deps.dpopNonces.accepts(environment, nonce, now);
}

/** The errors for each kind of refusal, in the endpoint's way of answering. */
function refusal(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  answer: DpopAnswer,
): { invalid(description: string): OAuthError; nonce(description: string): OAuthError } {
  const current = () => deps.dpopNonces.current(requestEnv.environment.name, deps.clock());
  if (answer === 'token-endpoint')
    return {
      invalid: (description) => new InvalidDpopProof(description),
      nonce: (description) => new UseDpopNonce(current(), description),
    };
  const options = { realm: requestEnv.issuer, algs: DPOP_ALGS };
  return {
    invalid: (description) => new DpopResourceError('invalid_dpop_proof', description, options),
    nonce: (description) =>
      new DpopResourceError('use_dpop_nonce', description, { ...options, nonce: current() }),
  };
}

/**
 * A fresh nonce on an answer (RFC 9449 §8.2: the server may send a new one on any response), so
 * a client that keeps the latest (oauth4webapi, openid-client do) rarely meets a refusal.
 */
export function sendDpopNonce(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  reply: FastifyReply,
): FastifyReply {
  return reply.header(
    'DPoP-Nonce',
    deps.dpopNonces.current(requestEnv.environment.name, deps.clock()),
  );
}
