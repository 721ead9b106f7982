import { createHash, createHmac } from 'node:crypto';
import type { Insertable, Selectable } from 'kysely';
import type { AuditTable } from '../schema.js';

export interface AuditEvent {
  readonly environment: string | null;
  /** Dotted name: `signin.failed`, `code.replayed`, `redirect.refused`, `client.created`, ... */
  readonly type: string;
  readonly actor: string;
  readonly clientId?: string | null;
  readonly userId?: string | null;
  /** Details. Never a secret, a code or a token value. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface AuditEntry extends Required<AuditEvent> {
  readonly seq: number;
  readonly at: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** An event and when it happened: what a store's audited write records beside its rows. */
export interface AuditRecord {
  readonly event: AuditEvent;
  readonly at: number;
}

/** The `prevHash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** Data keys that would mean a secret is about to be written: a bug, so it throws. */
const FORBIDDEN_KEYS = /secret|password|^code$|token$|^state$|verifier/i;

export function checkEvent(event: AuditEvent): void {
  for (const key of Object.keys(event.data ?? {})) {
    if (FORBIDDEN_KEYS.test(key)) throw new TypeError(`audit data must not carry "${key}"`);
  }
}

/** The prefix of a keyed (version 2) hash; a version 1 hash is 64 bare hex digits. */
export const KEYED_PREFIX = 'v2:';

/** The event that marks where keyed chaining begins after entries written before it. */
export const CHAIN_KEYED_EVENT = 'audit.chain_keyed';

export function isKeyed(hash: string): boolean {
  return hash.startsWith(KEYED_PREFIX);
}

/** The text an entry's hash is computed over: the same for both versions and both databases. */
export function chainMaterial(entry: Omit<AuditEntry, 'hash'>): string {
  return JSON.stringify([
    entry.seq,
    entry.at,
    entry.environment,
    entry.type,
    entry.actor,
    entry.clientId,
    entry.userId,
    entry.data,
    entry.prevHash,
  ]);
}

/**
 * The hash that links an entry to the chain. With the chain key (crypto/audit-keys.ts): version 2,
 * `v2:` and HMAC-SHA-256 of the material, which nobody without the server secret can compute.
 * Without it (entries written before keyed chaining, or a bare store in a test): version 1, plain
 * SHA-256, which anyone who can write the database can recompute.
 */
export function chainHash(entry: Omit<AuditEntry, 'hash'>, key?: Buffer): string {
  const material = chainMaterial(entry);
  return key === undefined
    ? createHash('sha256').update(material).digest('hex')
    : `${KEYED_PREFIX}${createHmac('sha256', key).update(material).digest('hex')}`;
}

/** An entry as it is chained, but for its place in the chain (seq, prev_hash, hash). */
export function entryFields(
  event: AuditEvent,
  at: number,
): Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'> {
  return {
    at,
    environment: event.environment,
    type: event.type,
    actor: event.actor,
    clientId: event.clientId ?? null,
    userId: event.userId ?? null,
    data: event.data ?? {},
  };
}

export function toEntry(row: Selectable<AuditTable>): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    environment: row.environment,
    type: row.type,
    actor: row.actor,
    clientId: row.client_id,
    userId: row.user_id,
    data: JSON.parse(row.data) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export function toRow(entry: AuditEntry): Insertable<AuditTable> {
  return {
    seq: entry.seq,
    at: entry.at,
    environment: entry.environment,
    type: entry.type,
    actor: entry.actor,
    client_id: entry.clientId,
    user_id: entry.userId,
    data: JSON.stringify(entry.data),
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}
