import type { Clock } from '../clock.js';
import type { ServerConfig } from '../config.js';
import type { Stores } from '../storage/index.js';
import type { Signer } from '../tokens/signer.js';
import type { MetadataDocumentClients } from '../services/metadata-documents.js';
import type { AttemptLimiter } from '../services/attempt-limiter.js';
import type { SharedLimiter } from '../services/shared-attempt-limiter.js';

/** Everything handlers use, built once at start-up. */
export interface AppDeps {
  readonly stores: Stores;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly config: Pick<ServerConfig, 'baseUrl' | 'secureCookies'>;
  /** Failed sign-ins counted per account and per client address. */
  readonly signInLimits: { readonly account: SharedLimiter; readonly address: SharedLimiter };
  /** Wrong device user codes per client address (RFC 8628 §5.1: guessing). */
  readonly deviceCodeLimiter: AttemptLimiter;
  /** Dynamic client registrations per client address (RFC 7591 §5: abuse). */
  readonly registrationLimiter: AttemptLimiter;
  /** Clients whose client_id is a Client ID Metadata Document URL. */
  readonly documentClients: MetadataDocumentClients;
}

export function issuerOf(deps: AppDeps, environment: string): string {
  return `${deps.config.baseUrl}/e/${environment}`;
}

// Handlers take it from here with AppDeps; its home is the environments service, so grants can name it.
export type { EnvironmentContext } from '../services/environments.js';
