import { checkDpopAlgorithms, DEFAULT_DPOP_ALGORITHMS } from './dpop.js';
import { checkIssuer, checkResourceIdentifier } from './urls.js';
import { checkScopes } from './scopes.js';

/** The RFC 9728 §2 protected resource metadata document, with the members this library sets. */
export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly scopes_supported?: readonly string[];
  /** Only the `Authorization` header (RFC 6750 §2.1): no query or body tokens. */
  readonly bearer_methods_supported: readonly ['header'];
  readonly resource_name?: string;
  /** RFC 9728 §2: the DPoP proof algorithms this resource accepts (RFC 9449). */
  readonly dpop_signing_alg_values_supported: readonly string[];
  /** RFC 9728 §2: whether only DPoP-bound access tokens are accepted. */
  readonly dpop_bound_access_tokens_required: boolean;
}

export interface MetadataOptions {
  /** This resource's identifier (RFC 8707): what clients ask tokens for and `aud` must hold. */
  readonly resource: string;
  /** The authorization server's issuer identifier. */
  readonly issuer: string;
  /** Scopes this resource understands, published so clients know what to ask for. */
  readonly scopesSupported?: readonly string[];
  /** A human-readable name (RFC 9728 §2 `resource_name`). */
  readonly resourceName?: string;
  /** What the metadata says of DPoP: `algorithms` and `required` (see `DpopOptions`). */
  readonly dpop?: { readonly algorithms?: readonly string[]; readonly required?: boolean };
}

export function protectedResourceMetadata(options: MetadataOptions): ProtectedResourceMetadata {
  checkResourceIdentifier(options.resource);
  checkIssuer(options.issuer);
  // RFC 9728 §3.3: the document's `resource` must be identical to the identifier clients used to
  // find it, so it is the configured string, unchanged.
  return Object.freeze({
    resource: options.resource,
    authorization_servers: Object.freeze([options.issuer]),
    ...(options.scopesSupported === undefined
      ? {}
      : { scopes_supported: checkScopes(options.scopesSupported, 'scopesSupported') }),
    bearer_methods_supported: Object.freeze(['header'] as const),
    ...(options.resourceName === undefined ? {} : { resource_name: options.resourceName }),
    dpop_signing_alg_values_supported: checkDpopAlgorithms(
      options.dpop?.algorithms ?? DEFAULT_DPOP_ALGORITHMS,
    ),
    dpop_bound_access_tokens_required: options.dpop?.required ?? false,
  });
}
