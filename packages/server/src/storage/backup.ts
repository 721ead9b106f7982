import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { knownMigrations } from './migrations.js';

/**
 * Backing up and restoring a SQLite database (`gatehouse backup`, `gatehouse restore`). The secret
 * that seals signing keys and keys the audit chain is not in the database, so not in a backup:
 * it is backed up apart (the callers say so).
 */

/** A refusal or a failed check: nothing was changed. Its message is one line. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

export interface BackupResult {
  readonly from: string;
  readonly to: string;
  readonly pages: number;
  readonly bytes: number;
}

/**
 * Copies the database at `file` to `to` with SQLite's online backup, from a connection of its own:
 * consistent (one snapshot, whatever a running server commits meanwhile), without stopping it. The
 * copy is written beside `to` under a temporary name, made a self-contained rollback-journal file
 * (no WAL to carry along), checked with `integrity_check`, made readable by its owner only, synced,
 * and then renamed over `to`, so `to` is either the previous file or a whole, checked backup.
 */
export async function backupSqlite(file: string, to: string): Promise<BackupResult> {
  if (!existsSync(file)) throw new BackupError(`there is no database at ${file}`);
  const target = resolve(to);
  if (!existsSync(dirname(target)))
    throw new BackupError(`the directory of ${target} does not exist`);
  if (existsSync(target) && realpathSync(target) === realpathSync(file))
    throw new BackupError(`${target} is the database itself; back up to another file`);
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}`);
  // Created empty and private before a byte of data goes in (SQLite gives its journal the file's
  // mode), so no other local user can open it in between; `wx`: never through a planted link.
  closeSync(openSync(temporary, 'wx', 0o600));
  const source = new SQLite(file, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    await source.backup(temporary, {
      // After the first step, the rest in one step: one read snapshot, never restarted by the
      // server's commits as a page-by-page copy would be.
      progress: () => 0x7fffffff,
    });
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new BackupError(`the backup of ${file} failed: ${messageOf(error)}`);
  } finally {
    source.close();
  }
  try {
    const pages = selfContained(temporary);
    chmodSync(temporary, 0o600);
    const bytes = await syncFile(temporary);
    renameSync(temporary, target);
    await syncDirectory(dirname(target));
    return { from: file, to: target, pages, bytes };
  } finally {
    rmSync(temporary, { force: true });
  }
}

export interface RestoreResult {
  readonly from: string;
  readonly to: string;
  /** Where the database that was there before is kept, if there was one. */
  readonly previous?: string;
}

/**
 * Puts the backup `from` in place as the database `file`. Checks the backup first (integrity, a
 * Gatehouse database, no migration newer than this code); refuses to replace a database without
 * `force`, and always while a process has it open; keeps the one it replaces as
 * `<file>.before-restore` (with its WAL, if any).
 */
export async function restoreSqlite(
  from: string,
  file: string,
  options: { force?: boolean } = {},
): Promise<RestoreResult> {
  const source = resolve(from);
  if (!existsSync(source)) throw new BackupError(`there is no backup at ${source}`);
  const replacing = existsSync(file);
  if (replacing && options.force !== true)
    throw new BackupError(
      `a database exists at ${file}; stop the server and pass --force to replace it (it is kept as ${file}.before-restore)`,
    );
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Checked as a copy beside its destination: the backup itself is never opened for writing.
  const temporary = join(
    dirname(file),
    `.${basename(file)}.restore-${randomBytes(6).toString('hex')}`,
  );
  try {
    closeSync(openSync(temporary, 'wx', 0o600));
    await copyFile(source, temporary);
    chmodSync(temporary, 0o600);
    checkBackup(temporary, source);
    await syncFile(temporary);
    let previous: string | undefined;
    if (replacing) {
      quiesce(file);
      previous = `${file}.before-restore`;
      for (const suffix of ['', '-wal', '-shm']) {
        rmSync(`${previous}${suffix}`, { force: true });
        if (existsSync(`${file}${suffix}`)) renameSync(`${file}${suffix}`, `${previous}${suffix}`);
      }
    }
    renameSync(temporary, file);
    await syncDirectory(dirname(file));
    return { from: source, to: file, ...(previous === undefined ? {} : { previous }) };
  } finally {
    rmSync(temporary, { force: true });
    rmSync(`${temporary}-journal`, { force: true });
  }
}

/** Integrity, a Gatehouse database, and no migration this code does not know. */
function checkBackup(copy: string, source: string): void {
  let db: SQLite.Database;
  try {
    db = new SQLite(copy, { fileMustExist: true });
  } catch (error) {
    throw new BackupError(`${source} cannot be opened as a SQLite database: ${messageOf(error)}`);
  }
  try {
    const problems = integrityProblems(db);
    if (problems !== undefined)
      throw new BackupError(`${source} fails SQLite's integrity check: ${problems}`);
    const hasMigrations = db
      .prepare(
        "select count(*) from sqlite_master where type = 'table' and name = 'gatehouse_migrations'",
      )
      .pluck()
      .get() as number;
    if (hasMigrations === 0) throw new BackupError(`${source} is not a Gatehouse database`);
    const known = new Set(knownMigrations());
    const unknown = (db.prepare('select name from gatehouse_migrations').pluck().all() as string[])
      .filter((name) => !known.has(name))
      .sort();
    if (unknown.length > 0)
      throw new BackupError(
        `${source} was made by a newer Gatehouse (migration ${unknown.join(', ')}); restore it with that version or newer`,
      );
    // A backup taken by copying a WAL-mode file: fold it into one file like ours.
    db.pragma('journal_mode = DELETE');
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError(`${source} cannot be read as a SQLite database: ${messageOf(error)}`);
  } finally {
    db.close();
  }
}

/** The backup made self-contained and checked; returns its page count. */
function selfContained(file: string): number {
  const db = new SQLite(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    const problems = integrityProblems(db);
    if (problems !== undefined)
      throw new BackupError(`the backup fails SQLite's integrity check: ${problems}`);
    return db.pragma('page_count', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/** `undefined` when `PRAGMA integrity_check` says ok, else its first lines. */
export function integrityProblems(db: SQLite.Database): string | undefined {
  const lines = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
  const text = lines.map((l) => l.integrity_check);
  return text.length === 1 && text[0] === 'ok' ? undefined : text.slice(0, 3).join('; ');
}

/**
 * Refuses while another connection (a running server, its checkpointer, an admin command) has the
 * database open: in WAL mode each holds a shared lock, so an exclusive lock is granted only when
 * none is left. Then folds the WAL into the file, so the file moved aside is whole.
 */
function quiesce(file: string): void {
  let db: SQLite.Database;
  try {
    db = new SQLite(file, { fileMustExist: true, timeout: 0 });
  } catch (error) {
    throw new BackupError(`the database at ${file} cannot be opened: ${messageOf(error)}`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('begin exclusive');
    db.exec('commit');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY')
      throw new BackupError(
        `a process has the database at ${file} open (a running gatehouse serve?); stop it before restoring`,
      );
    throw new BackupError(`the database at ${file} cannot be locked: ${messageOf(error)}`);
  } finally {
    db.close();
  }
}

async function syncFile(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
