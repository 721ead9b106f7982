import type { Clock } from '../clock.js';
import type { DpopNonces } from '../crypto/dpop-nonces.js';
import type { ServerConfig } from '../config.js';
import type { Stores } from '../storage/index.js';
import type { Signer } from '../tokens/signer.js';
import type { MetadataDocumentClients } from '../services/metadata-documents.js';
import type { ClientKeys } from '../services/client-keys.js';
import type { SharedLimiter } from '../services/shared-attempt-limiter.js';
import type { SignInLimits } from '../services/sign-in-limits.js';
import type { ReadinessReport } from '../services/readiness.js';
import type { RedirectUsage } from '../services/redirect-usage.js';
import type { Metrics } from './metrics.js';

/** Everything handlers use, built once at start-up. */
export interface AppDeps {
  readonly stores: Stores;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly config: Pick<ServerConfig, 'baseUrl' | 'secureCookies'>;
  /**
   * Sign-ins (end users and operators) limited per (account, address) and per address, slowed
   * down per account; `request.ip` is the address, which --trust-proxy decides.
   */
  readonly signInLimits: SignInLimits;
  /** Wrong device user codes per client address (RFC 8628 §5.1: guessing), in the database. */
  readonly deviceCodeLimiter: SharedLimiter;
  /**
   * Dynamic client registrations per client address (RFC 7591 §5: abuse), in the database;
   * counted before the initial access token is checked, so guessing tokens is limited too.
   */
  readonly registrationLimiter: SharedLimiter;
  /**
   * Access-token revocations per client, in the database: each is an event that every resource
   * server of the environment reads and keeps until it expires, so one client minting and
   * revoking tokens must not grow them all without bound.
   */
  readonly revocationLimiter: SharedLimiter;
  /** Clients whose client_id is a Client ID Metadata Document URL. */
  readonly documentClients: MetadataDocumentClients;
  /** The public keys of private_key_jwt clients: their jwks, or their jwks_uri fetched and cached. */
  readonly clientKeys: ClientKeys;
  /** Server-provided DPoP nonces (RFC 9449 §8), stateless, the same in every process. */
  readonly dpopNonces: DpopNonces;
  /**
   * Requests and uses of each registered redirect and post-logout URI, counted in memory and
   * added to the inventory in batches (services/redirect-usage.ts): never a write per request.
   */
  readonly redirectUsage: RedirectUsage;
  /** Prometheus counters (--metrics-port); absent when metrics are off. */
  readonly metrics?: Metrics;
  /** What /readyz reports (services/readiness.ts); absent: ready whenever it answers. */
  readonly readiness?: () => Promise<ReadinessReport>;
}

export function issuerOf(deps: AppDeps, environment: string): string {
  return `${deps.config.baseUrl}/e/${environment}`;
}

// Handlers take it from here with AppDeps; its home is the environments service, so grants can name it.
export type { EnvironmentContext } from '../services/environments.js';
