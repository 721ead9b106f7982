import { accountStore, type AccountStore } from './account.js';
import { cacheStores } from './cached-stores.js';
import { attemptStore, type AttemptStore } from './attempts.js';
import { auditStore, type AuditStore } from './audit.js';
import {
  authorizationRequestStore,
  type AuthorizationRequestStore,
} from './authorization-requests.js';
import { clientAssertionJtiStore, type ClientAssertionJtiStore } from './client-assertion-jtis.js';
import { clientStore, type ClientStore } from './clients.js';
import { dpopProofJtiStore, type DpopProofJtiStore } from './dpop-proof-jtis.js';
import { codeStore, type CodeStore } from './codes.js';
import { pushedRequestStore, type PushedRequestStore } from './pushed-requests.js';
import { consentStore, type ConsentStore } from './consents.js';
import type { AuditKeys } from '../crypto/audit-keys.js';
import { clientSecretHasher, type ClientSecretHasher } from '../crypto/client-secret-hash.js';
import type { KeyCipher } from '../crypto/key-encryption.js';
import type { DatabaseHandle } from './database.js';
import { deviceCodeStore, type DeviceCodeStore } from './device-codes.js';
import { environmentStore, type EnvironmentStore } from './environments.js';
import { expiredRecordStore, type ExpiredRecordStore } from './expired.js';
import { impersonationStore, type ImpersonationStore } from './impersonations.js';
import { initialAccessTokenStore, type InitialAccessTokenStore } from './initial-access-tokens.js';
import { keyStore, type KeyStore } from './keys.js';
import { resourceStore, type ResourceStore } from './resources.js';
import { operatorStore, type OperatorStore } from './operators.js';
import { refusedRedirectStore, type RefusedRedirectStore } from './refused-redirects.js';
import {
  redirectRegistrationStore,
  type RedirectRegistrationStore,
} from './redirect-registrations.js';
import { revocationEventStore, type RevocationEventStore } from './revocation-events.js';
import { sessionStore, type SessionStore } from './sessions.js';
import { sessionClientStore, type SessionClientStore } from './session-clients.js';
import { logoutDeliveryStore, type LogoutDeliveryStore } from './logout-deliveries.js';
import { tokenStore, type TokenStore } from './tokens.js';
import { userStore, type UserStore } from './users.js';

/** Every aggregate's store, over one database. */
export interface Stores {
  readonly environments: EnvironmentStore;
  readonly keys: KeyStore;
  readonly clients: ClientStore;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly consents: ConsentStore;
  readonly authorizationRequests: AuthorizationRequestStore;
  readonly codes: CodeStore;
  /** Pushed authorization requests (RFC 9126), taken once by /authorize. */
  readonly pushedRequests: PushedRequestStore;
  readonly tokens: TokenStore;
  /** Revocations as events: what introspection checks and the feed resource servers follow. */
  readonly revocationEvents: RevocationEventStore;
  readonly audit: AuditStore;
  readonly deviceCodes: DeviceCodeStore;
  readonly operators: OperatorStore;
  readonly impersonations: ImpersonationStore;
  readonly refusedRedirects: RefusedRedirectStore;
  /** Refused post_logout_redirect_uri values: the near misses of post-logout URIs (issue #18). */
  readonly refusedPostLogoutRedirects: RefusedRedirectStore;
  /** The redirect inventory: provenance and use of each registered URI (issue #18). */
  readonly redirectRegistrations: RedirectRegistrationStore;
  readonly resources: ResourceStore;
  readonly initialAccessTokens: InitialAccessTokenStore;
  readonly attempts: AttemptStore;
  /** The clients each browser session signed in to (Back-Channel Logout). */
  readonly sessionClients: SessionClientStore;
  /** Back-Channel Logout tokens to deliver, retried. */
  readonly logoutDeliveries: LogoutDeliveryStore;
  /** The jtis of private_key_jwt client assertions already used (RFC 7523 §3). */
  readonly clientAssertionJtis: ClientAssertionJtiStore;
  /** The jtis of DPoP proofs already used, per key (RFC 9449 §11.1). */
  readonly dpopProofJtis: DpopProofJtiStore;
  /** What a user's account page lists and ends of their own (sessions, grants, codes). */
  readonly account: AccountStore;
  /** Housekeeping: what has expired, removed in batches. */
  readonly expired: ExpiredRecordStore;
  /** Not a table: how client secrets are hashed for the clients table. */
  readonly clientSecrets: ClientSecretHasher;
}

/** What the configured secret (GATEHOUSE_SECRET_KEY) protects in the stores. */
export interface StoreOptions {
  /** Seals private signing keys at rest. */
  readonly cipher?: KeyCipher;
  /** Hashes client secrets; a plain hash without one. */
  readonly clientSecrets?: ClientSecretHasher;
  /** MAC the audit chain and sign its checkpoints; an unkeyed chain without them. */
  readonly auditKeys?: AuditKeys;
}

export function createStores(handle: DatabaseHandle, options: StoreOptions = {}): Stores {
  const { db } = handle;
  const read = {
    environments: environmentStore(db),
    clients: clientStore(db),
    users: userStore(db),
    resources: resourceStore(db),
    sessions: sessionStore(db),
  };
  // Every request reads these; the cache is the process's, shared by its transactions' stores.
  const cached =
    handle.cache === undefined ? read : cacheStores(read, handle.cache, db, handle.kind);
  return {
    ...cached,
    keys: keyStore(db, options.cipher, handle.kind),
    consents: consentStore(db),
    authorizationRequests: authorizationRequestStore(db),
    codes: codeStore(db),
    pushedRequests: pushedRequestStore(db),
    tokens: tokenStore(db),
    revocationEvents: revocationEventStore(db, handle.kind),
    audit: auditStore(db, handle.kind, options.auditKeys),
    deviceCodes: deviceCodeStore(db),
    operators: operatorStore(db),
    impersonations: impersonationStore(db),
    refusedRedirects: refusedRedirectStore(db),
    refusedPostLogoutRedirects: refusedRedirectStore(db, 'refused_post_logout_redirects'),
    redirectRegistrations: redirectRegistrationStore(db),
    initialAccessTokens: initialAccessTokenStore(db),
    attempts: attemptStore(db),
    sessionClients: sessionClientStore(db),
    logoutDeliveries: logoutDeliveryStore(db),
    clientAssertionJtis: clientAssertionJtiStore(db),
    dpopProofJtis: dpopProofJtiStore(db),
    account: accountStore(db),
    expired: expiredRecordStore(db, handle.kind),
    clientSecrets: options.clientSecrets ?? clientSecretHasher(undefined),
  };
}
