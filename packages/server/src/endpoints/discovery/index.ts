import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CLIENT_ASSERTION_ALGS } from '../../http/client-assertion.js';
import { ACR_VALUES_SUPPORTED } from '../../authorization/session-claims.js';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { GRANT_TYPES, OIDC_SCOPES } from '../../protocol.js';
import { DPOP_ALGS } from '../../tokens/dpop-proof.js';

/** Exactly what this server supports: nothing listed that it does not do. */
export function metadataFor(
  issuer: string,
  environment?: {
    readonly registration: string;
    readonly metadataDocuments: boolean;
    readonly requirePar?: boolean;
  },
): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/userinfo`,
    revocation_endpoint: `${issuer}/revoke`,
    introspection_endpoint: `${issuer}/introspect`,
    // A Gatehouse extension: the revocation events a registered resource's client follows
    // (endpoints/revocations), so APIs refuse revoked tokens without asking per token.
    revocation_feed_endpoint: `${issuer}/revocations`,
    device_authorization_endpoint: `${issuer}/device_authorization`,
    // OpenID Connect RP-Initiated Logout 1.0 §2.1 (endpoints/end-session) and Back-Channel
    // Logout 1.0 §2.1: logout tokens carry sub and the session's sid (services/logout*.ts).
    end_session_endpoint: `${issuer}/logout`,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...GRANT_TYPES],
    code_challenge_methods_supported: ['S256'],
    // RFC 9449 §5.1: the algorithms a DPoP proof may be signed with (tokens/dpop-proof.ts).
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
    // private_key_jwt: RFC 7523 §2.2 client assertions (http/client-assertion.ts), signed with
    // exactly the algorithms listed (RFC 8414 §2).
    token_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'none',
    ],
    token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    revocation_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'none',
    ],
    revocation_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    introspection_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ],
    introspection_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    scopes_supported: [...OIDC_SCOPES],
    subject_types_supported: ['public'],
    // OIDC Discovery §3: RS256 MUST be listed; it is the default for a client that registers no
    // id_token_signed_response_alg (tokens/issue.ts idTokenAlgOf); ES256 where a client asks.
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    // Every claim an ID token or userinfo answer may carry (tokens/issue.ts), and no other.
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'azp',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'sid',
      'amr',
      'acr',
      'at_hash',
      'act',
      'email',
      'email_verified',
      'name',
    ],
    // OIDC Core §3.1.2.1 acr_values: the classes an ID token's acr may name.
    acr_values_supported: [...ACR_VALUES_SUPPORTED],
    prompt_values_supported: ['none', 'login', 'consent'],
    authorization_response_iss_parameter_supported: true,
    // A client_id may be an https URL naming its metadata (Client ID Metadata Documents), where
    // the environment allows it.
    client_id_metadata_document_supported: environment?.metadataDocuments === true,
    ...(environment === undefined || environment.registration === 'off'
      ? {}
      : { registration_endpoint: `${issuer}/register` }),
    // RFC 9126 §5: pushed authorization requests (endpoints/par), and whether this environment
    // requires them of every client (a client may be required to on its own: §6).
    pushed_authorization_request_endpoint: `${issuer}/par`,
    require_pushed_authorization_requests: environment?.requirePar === true,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  };
}

/** RFC 8414 metadata and OpenID Connect Discovery for each environment, and its JWKS. */
export function discoveryEndpoints(app: FastifyInstance, deps: AppDeps): void {
  const metadata = async (request: FastifyRequest, reply: FastifyReply) => {
    const requestEnv = await environmentContext(deps, request);
    return reply
      .header('Cache-Control', 'public, max-age=300')
      .send(metadataFor(requestEnv.issuer, requestEnv.environment));
  };
  // RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
  app.get('/.well-known/oauth-authorization-server/e/:env', metadata);
  app.get('/e/:env/.well-known/openid-configuration', metadata);
  // The path-inserted form of RFC 8414 §3 applied to OpenID Discovery, which some clients try.
  app.get('/.well-known/openid-configuration/e/:env', metadata);
  // Some clients (RFC 8414 §5 compatibility) append the suffix to the issuer instead.
  app.get('/e/:env/.well-known/oauth-authorization-server', metadata);
  app.get('/e/:env/jwks', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    return reply
      .header('Cache-Control', 'public, max-age=60')
      .type('application/jwk-set+json')
      .send(await deps.signer.jwks(requestEnv.environment.name));
  });
}
