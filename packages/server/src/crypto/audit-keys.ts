import { hkdfSync } from 'node:crypto';

/**
 * The audit log's keys, derived from the server secret (GATEHOUSE_SECRET_KEY or the secret file),
 * which never lives in the database: `chain` MACs every entry (HMAC-SHA-256, `v2:` hashes),
 * `checkpoint` signs the checkpoints the exporter writes outside the database. Each has its own
 * HKDF label, so neither can stand in for the other or for the client-secret and key-sealing keys.
 */
export interface AuditKeys {
  readonly chain: Buffer;
  readonly checkpoint: Buffer;
}

export function auditKeys(serverSecret: string): AuditKeys {
  const derive = (info: string) =>
    Buffer.from(hkdfSync('sha256', serverSecret, 'gatehouse', info, 32));
  return {
    chain: derive('gatehouse audit chain v2'),
    checkpoint: derive('gatehouse audit checkpoint v1'),
  };
}
