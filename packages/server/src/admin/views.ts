import type { AuditEntry } from '../storage/audit.js';
import type { Environment } from '../storage/environments.js';
import type { User } from '../storage/users.js';

/**
 * The API's shapes (documented in docs/admin-api.md). Never a secret hash or password hash.
 * A client's is `clientView` in services/client-view.ts: the CLI's `--json` output derives from it.
 */

export function userView(user: User) {
  return {
    id: user.id,
    environment: user.environment,
    email: user.email,
    name: user.name,
    disabled: user.disabled,
    emailVerified: user.emailVerified === true,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

export function environmentView(
  environment: Environment,
  issuer: string,
  counts: { clientCount: number; userCount: number },
) {
  return {
    name: environment.name,
    tier: environment.tier,
    issuer,
    impersonationEnabled: environment.impersonationEnabled,
    registration: environment.registration,
    allowLoopbackDocuments: environment.allowLoopbackDocuments,
    metadataDocuments: environment.metadataDocuments,
    requirePar: environment.requirePar,
    requireDpop: environment.requireDpop,
    refreshGraceSeconds: environment.refreshGraceSeconds,
    loopbackHosts: [...environment.loopbackHosts],
    ...counts,
    createdAt: environment.createdAt,
  };
}

export function auditView(entry: AuditEntry) {
  return {
    seq: entry.seq,
    at: entry.at,
    environment: entry.environment,
    type: entry.type,
    actor: entry.actor,
    clientId: entry.clientId,
    userId: entry.userId,
    data: entry.data,
    hash: entry.hash,
  };
}
