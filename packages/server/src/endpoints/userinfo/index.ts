import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AccessTokenRequired,
  DpopResourceError,
  InsufficientScope,
  InvalidToken,
  type DpopResourceErrorCode,
  type OAuthError,
} from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { checkDpopProof } from '../../http/dpop.js';
import { activeAccessToken } from '../../services/access-token-status.js';
import { environmentContext } from '../../http/environment.js';
import { DPOP_ALGS } from '../../tokens/dpop-proof.js';
import { userClaims } from '../../tokens/issue.js';

/** The access token of an `Authorization` header, and the scheme it came under. */
function presentedToken(
  header: string | undefined,
): { scheme: 'Bearer' | 'DPoP'; token: string } | undefined {
  const match = /^(bearer|dpop) +(\S+)\s*$/i.exec(header ?? '');
  if (match === null) return undefined;
  const [, scheme = '', token = ''] = match;
  return { scheme: scheme.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token };
}

/** The `cnf.jkt` a token is bound to (RFC 9449 §6), or undefined for a bearer token. */
function boundKey(payload: Record<string, unknown>): string | undefined {
  const cnf = payload.cnf;
  if (typeof cnf !== 'object' || cnf === null) return undefined;
  const jkt = (cnf as Record<string, unknown>).jkt;
  return typeof jkt === 'string' ? jkt : undefined;
}

/**
 * GET or POST /e/:env/userinfo (OIDC Core §5.3), with an access token as `Bearer` (RFC 6750 §2.1)
 * or, for one bound to a DPoP key, as `DPoP` with a proof of that key (RFC 9449 §7). Refusals are
 * thrown as RFC 6750 §3.1 / RFC 9449 §7.1 errors with the issuer as realm; the error handler sends
 * the challenge: `Bearer` for a bearer request, `DPoP` (with `algs`) for a DPoP request or a bound
 * token, both when no token came at all.
 */
export function userinfoEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const requestEnv = await environmentContext(deps, request);
    const realm = { realm: requestEnv.issuer };
    const dpopChallenge = { ...realm, algs: DPOP_ALGS };
    const presented = presentedToken(request.headers.authorization);
    if (presented === undefined) throw new AccessTokenRequired(dpopChallenge);
    const { scheme, token } = presented;
    const env = requestEnv.environment.name;
    // The challenge follows the scheme the client tried (RFC 9449 §7.1).
    const refuse = (code: DpopResourceErrorCode, description: string): OAuthError => {
      if (scheme === 'DPoP') return new DpopResourceError(code, description, dpopChallenge);
      return code === 'insufficient_scope'
        ? new InsufficientScope(description, realm)
        : new InvalidToken(description, realm);
    };
    // Revoked, its user disabled or gone, its client deleted: all "invalid" alike.
    const access = await activeAccessToken(deps, env, requestEnv.issuer, token);
    if (access === undefined)
      throw refuse('invalid_token', 'the access token is invalid, expired or revoked');
    const jkt = boundKey(access.payload);
    if (scheme === 'Bearer' && jkt !== undefined)
      // RFC 9449 §7.2: a DPoP-bound token is no bearer token: whoever copied it lacks the key.
      throw new DpopResourceError(
        'invalid_token',
        'this access token is bound to a DPoP key: send it with the DPoP scheme and a proof',
        dpopChallenge,
      );
    if (scheme === 'DPoP') {
      if (jkt === undefined)
        throw refuse('invalid_token', 'this access token is not DPoP-bound: send it as Bearer');
      // RFC 9449 §7.1, §4.3: a proof for this request, with `ath` of this token, made with the
      // key the token is bound to.
      const proof = await checkDpopProof(deps, request, requestEnv, {
        endpoint: '/userinfo',
        answer: 'resource',
        requireNonce: false,
        accessToken: token,
      });
      if (proof === undefined)
        throw refuse('invalid_dpop_proof', 'a DPoP proof is required with the DPoP scheme');
      if (proof.jkt !== jkt)
        throw refuse(
          'invalid_dpop_proof',
          'the DPoP proof is not made with the key the access token is bound to',
        );
    }
    // Tokens for another audience (an API named by `resource`) are not for userinfo.
    if (!access.audiences.includes(requestEnv.issuer))
      throw refuse('invalid_token', 'the access token is for another audience');
    const { payload, user } = access;
    const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scope.includes('openid'))
      throw refuse('insufficient_scope', 'the openid scope is required');
    // A client's own token (client_credentials) has no user to describe.
    if (user === undefined)
      throw refuse('invalid_token', 'the user is no longer allowed to sign in');
    return reply
      .header('Cache-Control', 'no-store')
      .send({ sub: user.id, ...userClaims(user, scope) });
  };
  app.get('/e/:env/userinfo', handler);
  app.post('/e/:env/userinfo', handler);
}
