import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/**
 * Audit retention: once the oldest entries were exported and removed, the chain starts at
 * `firstSeq`, whose entry links to `prevHash` (the hash of the last entry removed). The anchor is
 * one row, MACed under the chain key (never in the database), so someone who can write the
 * database but lacks the secret cannot move it forward over entries they deleted, and deleting it
 * leaves a chain that does not start at entry 1: `verify` reports both.
 */
export interface AuditAnchor {
  readonly firstSeq: number;
  readonly prevHash: string;
  /** How many entries were removed, over every prune. */
  readonly removed: number;
  readonly removedAt: number;
  /** `v1:` and the HMAC, base64url. */
  readonly mac: string;
}

const NAME = 'chain';
const VERSION = 'v1:';

function mac(key: Buffer, anchor: Omit<AuditAnchor, 'mac'>): string {
  const material = JSON.stringify([
    'gatehouse audit anchor',
    anchor.firstSeq,
    anchor.prevHash,
    anchor.removed,
    anchor.removedAt,
  ]);
  return `${VERSION}${createHmac('sha256', key).update(material).digest('base64url')}`;
}

export function signAnchor(key: Buffer, anchor: Omit<AuditAnchor, 'mac'>): AuditAnchor {
  return { ...anchor, mac: mac(key, anchor) };
}

export function anchorSigned(key: Buffer, anchor: AuditAnchor): boolean {
  const expected = Buffer.from(mac(key, anchor));
  const given = Buffer.from(anchor.mac);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export async function readAnchor(db: Kysely<Database>): Promise<AuditAnchor | undefined> {
  const row = await db
    .selectFrom('audit_anchor')
    .selectAll()
    .where('name', '=', NAME)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : {
        firstSeq: row.first_seq,
        prevHash: row.prev_hash,
        removed: row.removed,
        removedAt: row.removed_at,
        mac: row.mac,
      };
}

export async function writeAnchor(db: Kysely<Database>, anchor: AuditAnchor): Promise<void> {
  const values = {
    first_seq: anchor.firstSeq,
    prev_hash: anchor.prevHash,
    removed: anchor.removed,
    removed_at: anchor.removedAt,
    mac: anchor.mac,
  };
  await db
    .insertInto('audit_anchor')
    .values({ name: NAME, ...values })
    .onConflict((c) => c.column('name').doUpdateSet(values))
    .execute();
}
