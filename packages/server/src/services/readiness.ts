import { sql, type Kysely } from 'kysely';
import type { AuditWriterStats } from '../storage/audit/group-commit.js';
import type { Database } from '../storage/schema.js';
import type { Signer } from '../tokens/signer.js';

/** What /readyz says: each check `ok` or the reason it failed. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

/** The schema a database is at: how many migrations it records, and the newest one. */
export interface SchemaVersion {
  readonly count: number;
  readonly latest: string;
}

export async function schemaVersion(db: Kysely<Database>): Promise<SchemaVersion> {
  const { rows } = await sql<{
    count: number | string;
    latest: string | null;
  }>`select count(*) as count, max(name) as latest from gatehouse_migrations`.execute(db);
  return { count: Number(rows[0]?.count ?? 0), latest: rows[0]?.latest ?? '' };
}

export interface ReadinessOptions {
  readonly db: Kysely<Database>;
  readonly environments: { list(): Promise<readonly { readonly name: string }[]> };
  readonly signer: Pick<Signer, 'canSign'>;
  readonly audit: AuditWriterStats;
  /**
   * The schema this process migrated the database to at start (the code's latest migration):
   * another version migrating it forward, or a restore taking it back, makes this process unready.
   */
  readonly schema: SchemaVersion;
  /** Each check's time limit (default one second). */
  readonly timeoutMs?: number;
  /** How old the oldest uncommitted audit append may be before the writer counts as stalled. */
  readonly auditStallMs?: number;
}

class Timeout extends Error {}

async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Timeout(`no answer within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why a check failed, as shown to whoever asks /readyz (anonymous callers): our own timeout, or
 * the error's code only (ECONNREFUSED, 3D000, SQLITE_BUSY). A driver's message names hosts,
 * ports, databases and users (`connect ECONNREFUSED 10.0.0.5:5432`, `database "…" does not exist`).
 */
function reason(error: unknown): string {
  if (error instanceof Timeout) return error.message;
  const code = (error as { code?: unknown } | undefined)?.code;
  return `the check failed (${typeof code === 'string' && /^\w{1,40}$/.test(code) ? code : 'error'})`;
}

async function check(ms: number, work: () => Promise<string>): Promise<string> {
  try {
    return await within(ms, work);
  } catch (error) {
    return reason(error);
  }
}

/**
 * /readyz: the database answers `select 1`, its schema is the one this process migrated it to,
 * every environment has a signing key that may sign now, and the audit writer's oldest pending
 * append is younger than `auditStallMs`. Each check has its own time limit; probes arriving while
 * one runs share its answer, so a flood of probes costs one round of queries.
 */
export function readinessProbe(options: ReadinessOptions): () => Promise<ReadinessReport> {
  const ms = options.timeoutMs ?? 1_000;
  const stallMs = options.auditStallMs ?? 10_000;
  let running: Promise<ReadinessReport> | undefined;
  const run = async (): Promise<ReadinessReport> => {
    const [database, migrations, signingKeys] = await Promise.all([
      check(ms, async () => {
        await sql`select 1`.execute(options.db);
        return 'ok';
      }),
      check(ms, async () => {
        const now = await schemaVersion(options.db);
        const expected = options.schema;
        if (now.count === expected.count && now.latest === expected.latest) return 'ok';
        return `the database is at migration ${now.latest || 'none'} (${now.count}), this process at ${expected.latest} (${expected.count})`;
      }),
      check(ms, async () => {
        const environments = await options.environments.list();
        const missing: string[] = [];
        await Promise.all(
          environments.map(async ({ name }) => {
            if (!(await options.signer.canSign(name))) missing.push(name);
          }),
        );
        return missing.length === 0
          ? 'ok'
          : `no active signing key in ${missing.sort().join(', ')}`;
      }),
    ]);
    const since = options.audit.oldestPendingSince();
    const age = since === undefined ? 0 : performance.now() - since;
    const auditWriter =
      age < stallMs
        ? 'ok'
        : `the oldest of ${options.audit.pending()} pending audit appends waits for ${Math.round(age / 1000)} s`;
    const checks = { database, migrations, signing_keys: signingKeys, audit_writer: auditWriter };
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  };
  return () => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };
}
