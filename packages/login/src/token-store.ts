import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StoredDpopKey } from './dpop-key.js';
import type { StoredTokens } from './tokens.js';

/**
 * Each profile's DPoP private key (RFC 9449), in the same store as its tokens but in a record of
 * its own (file `dpop-keys.json`, keyring entry `gatehouse/dpop-keys`): a copy of the token file
 * alone carries no key, so its bound tokens are useless elsewhere.
 */
export interface DpopKeyStore {
  getDpopKey(profile: string): Promise<StoredDpopKey | undefined>;
  /** Stores `key` unless the profile has a key already; resolves with the profile's key either way. */
  addDpopKey(profile: string, key: StoredDpopKey): Promise<StoredDpopKey>;
  deleteDpopKey(profile: string): Promise<boolean>;
}

/** Where tokens live, per profile. Implementations keep them out of logs and out of other users' reach. */
export interface TokenStore extends Partial<DpopKeyStore> {
  /** `keyring` (the OS keyring) or `file` (unencrypted, owner-only file). */
  readonly kind: 'keyring' | 'file';
  get(profile: string): Promise<StoredTokens | undefined>;
  set(profile: string, tokens: StoredTokens): Promise<void>;
  delete(profile: string): Promise<boolean>;
  list(): Promise<string[]>;
}

/** Whether a store keeps DPoP keys (both stores here do; one written elsewhere may not). */
export function keepsDpopKeys(store: TokenStore): store is TokenStore & DpopKeyStore {
  return (
    typeof store.getDpopKey === 'function' &&
    typeof store.addDpopKey === 'function' &&
    typeof store.deleteDpopKey === 'function'
  );
}

type Records<T> = Record<string, T>;

/** O_NOFOLLOW where the platform has it (not on Windows, whose types say otherwise). */
const NOFOLLOW = (constants as { O_NOFOLLOW?: number }).O_NOFOLLOW ?? 0;

/** Letters, digits, dot, dash and underscore: a profile name is also part of a lock file name. */
export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function assertProfileName(profile: string): void {
  if (!PROFILE_NAME.test(profile))
    throw new TypeError(
      `invalid profile name "${profile.slice(0, 64)}": use letters, digits, ., _ and -`,
    );
}

/** Parses the stored profiles; a damaged file is reported without quoting it (it holds tokens). */
function parseProfiles<T = StoredTokens>(text: string, where: string): Records<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${where} is damaged (not JSON); delete it and log in again`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${where} is damaged (not an object); delete it and log in again`);
  return Object.assign(Object.create(null) as Records<T>, parsed);
}

/** `$GATEHOUSE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/gatehouse`, else `~/.config/gatehouse` (`%APPDATA%` on Windows). */
export function configDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.GATEHOUSE_CONFIG_DIR !== undefined && env.GATEHOUSE_CONFIG_DIR !== '')
    return env.GATEHOUSE_CONFIG_DIR;
  if (process.platform === 'win32' && env.APPDATA !== undefined)
    return join(env.APPDATA, 'gatehouse');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'gatehouse');
}

/**
 * Per-profile records kept in one place (a JSON file, a keyring entry): how each reads and
 * updates its records under a lock is its own; looking up and removing a profile are shared.
 */
abstract class ProfileRecords<T> {
  abstract read(): Records<T> | Promise<Records<T>>;

  /** Read, change and write under one lock, so concurrent writers of other profiles are not undone. */
  abstract update<R>(change: (records: Records<T>) => { changed: boolean; result: R }): Promise<R>;

  async get(profile: string): Promise<T | undefined> {
    assertProfileName(profile);
    const records = await this.read();
    return Object.hasOwn(records, profile) ? records[profile] : undefined;
  }

  /** Stores `record` unless the profile has one already; returns the one kept. */
  async addIfAbsent(profile: string, record: T): Promise<T> {
    assertProfileName(profile);
    return this.update((records) => {
      const existing = Object.hasOwn(records, profile) ? records[profile] : undefined;
      if (existing !== undefined) return { changed: false, result: existing };
      records[profile] = record;
      return { changed: true, result: record };
    });
  }

  async delete(profile: string): Promise<boolean> {
    assertProfileName(profile);
    return this.update((records) => {
      if (!Object.hasOwn(records, profile)) return { changed: false, result: false };
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a checked profile name
      delete records[profile];
      return { changed: true, result: true };
    });
  }
}

/**
 * One JSON file of per-profile records: directory 0700, file 0600, replaced atomically (write a
 * temporary file, then rename), so a crash never leaves half a file and no other user can read it.
 */
class JsonRecordFile<T> extends ProfileRecords<T> {
  constructor(
    private readonly dir: string,
    readonly file: string,
    /** The lock file's name, serialising writers of this file across processes. */
    private readonly lockName: string,
  ) {
    super();
  }

  async exists(): Promise<boolean> {
    return stat(this.file).then(
      () => true,
      () => false,
    );
  }

  /**
   * The records, read only from a regular file of this user's (or root's) in a directory no other
   * user can write: a file another local user planted there (their own key file, whose private key
   * they know, or a symbolic link to one) would bind this user's tokens to a key that is not theirs
   * alone. A file or directory of this user's left group- or world-accessible (an older version, a
   * restored backup, `cp -r`) is tightened before it is read, as `write` tightens the directory.
   */
  async read(): Promise<Records<T>> {
    const uid = process.getuid?.();
    if (uid !== undefined) await this.checkDir(uid);
    let text: string;
    let handle;
    try {
      // O_NOFOLLOW: a symbolic link in place of the file is refused (ELOOP), not followed.
      handle = await open(this.file, constants.O_RDONLY | NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return {};
      if (code === 'ELOOP')
        throw new Error(
          `${this.file} is a symbolic link, not a file of your own; delete it and log in again`,
          { cause: error },
        );
      throw new Error(`cannot read ${this.file}: ${code ?? 'unreadable'}`, { cause: error });
    }
    try {
      const info = await handle.stat();
      if (!info.isFile())
        throw new Error(`${this.file} is not a regular file; delete it and log in again`);
      if (uid !== undefined && info.uid !== uid && info.uid !== 0)
        throw new Error(
          `${this.file} belongs to another user (uid ${info.uid}), so what it holds is not yours alone; delete it and log in again`,
        );
      if (uid !== undefined && (info.mode & 0o077) !== 0) await handle.chmod(0o600);
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
    return parseProfiles<T>(text, this.file);
  }

  /** The store's directory: this user's (or root's), and nobody else's to write into or read. */
  private async checkDir(uid: number): Promise<void> {
    let info;
    try {
      info = await stat(this.dir);
    } catch {
      return; // Not there yet: `write` makes it 0700.
    }
    if (info.uid !== uid && info.uid !== 0)
      throw new Error(
        `${this.dir} belongs to another user (uid ${info.uid}); use a directory of your own (GATEHOUSE_CONFIG_DIR)`,
      );
    if (info.uid === uid && (info.mode & 0o077) !== 0) await chmod(this.dir, 0o700);
    else if (info.uid !== uid && (info.mode & 0o022) !== 0)
      throw new Error(
        `${this.dir} can be written by other users; use a directory of your own (GATEHOUSE_CONFIG_DIR)`,
      );
  }

  /** Read, change and write under one lock, so concurrent writers of other profiles are not undone. */
  async update<R>(change: (records: Records<T>) => { changed: boolean; result: R }): Promise<R> {
    return withProfileLock(this.dir, this.lockName, async () => {
      const records = await this.read();
      const { changed, result } = change(records);
      if (changed) await this.write(records);
      return result;
    });
  }

  private async write(records: Records<T>): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // An existing directory may have been created looser; tighten it.
    await chmod(this.dir, 0o700);
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(records, null, 2));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.file);
  }
}

/**
 * Tokens in `tokens.json` and the profiles' DPoP keys in `dpop-keys.json`, both in `dir`, both
 * owner-only files replaced atomically.
 */
export class FileTokenStore implements TokenStore, DpopKeyStore {
  readonly kind = 'file' as const;
  private readonly tokens: JsonRecordFile<StoredTokens>;
  private readonly keys: JsonRecordFile<StoredDpopKey>;

  constructor(dir: string) {
    this.tokens = new JsonRecordFile(dir, join(dir, 'tokens.json'), '.tokens-file');
    this.keys = new JsonRecordFile(dir, join(dir, 'dpop-keys.json'), '.dpop-keys-file');
  }

  /** Whether the token file exists yet: the CLI warns once, when it is first created. */
  exists(): Promise<boolean> {
    return this.tokens.exists();
  }

  get(profile: string): Promise<StoredTokens | undefined> {
    return this.tokens.get(profile);
  }

  async set(profile: string, tokens: StoredTokens): Promise<void> {
    assertProfileName(profile);
    await this.tokens.update((profiles) => {
      profiles[profile] = tokens;
      return { changed: true, result: undefined };
    });
  }

  delete(profile: string): Promise<boolean> {
    return this.tokens.delete(profile);
  }

  async list(): Promise<string[]> {
    return Object.keys(await this.tokens.read()).sort();
  }

  getDpopKey(profile: string): Promise<StoredDpopKey | undefined> {
    return this.keys.get(profile);
  }

  addDpopKey(profile: string, key: StoredDpopKey): Promise<StoredDpopKey> {
    return this.keys.addIfAbsent(profile, key);
  }

  deleteDpopKey(profile: string): Promise<boolean> {
    return this.keys.delete(profile);
  }
}

interface KeyringEntry {
  getPassword(): string | null | undefined;
  setPassword(value: string): void;
  deletePassword(): boolean;
}

/** One keyring entry holding a JSON object of per-profile records; writers serialised by a lock file. */
class KeyringRecords<T> extends ProfileRecords<T> {
  constructor(
    private readonly entry: KeyringEntry,
    private readonly where: string,
    private readonly lockDir: string,
    private readonly lockName: string,
  ) {
    super();
  }

  read(): Records<T> {
    const raw = this.entry.getPassword();
    return raw === null || raw === undefined || raw === '' ? {} : parseProfiles<T>(raw, this.where);
  }

  update<R>(change: (records: Records<T>) => { changed: boolean; result: R }): Promise<R> {
    return withProfileLock(this.lockDir, this.lockName, () => {
      const records = this.read();
      const { changed, result } = change(records);
      if (changed) this.entry.setPassword(JSON.stringify(records));
      return Promise.resolve(result);
    });
  }
}

/**
 * The OS keyring (Keychain, Credential Manager, Secret Service) through @napi-rs/keyring: entry
 * `gatehouse/tokens` for the tokens, `gatehouse/dpop-keys` for the profiles' DPoP keys.
 */
export class KeyringTokenStore implements TokenStore, DpopKeyStore {
  readonly kind = 'keyring' as const;
  private readonly tokens: KeyringRecords<StoredTokens>;
  private readonly keys: KeyringRecords<StoredDpopKey>;

  private constructor(tokens: KeyringEntry, keys: KeyringEntry, lockDir: string) {
    this.tokens = new KeyringRecords(
      tokens,
      'the keyring entry gatehouse/tokens',
      lockDir,
      '.tokens-keyring',
    );
    this.keys = new KeyringRecords(
      keys,
      'the keyring entry gatehouse/dpop-keys',
      lockDir,
      '.dpop-keys-keyring',
    );
  }

  /** A keyring store if one works on this machine (it is probed), else undefined. */
  static async open(lockDir: string = configDir()): Promise<KeyringTokenStore | undefined> {
    try {
      const { Entry } = await import('@napi-rs/keyring');
      const probe = new Entry('gatehouse', `probe-${randomBytes(4).toString('hex')}`);
      probe.setPassword('probe');
      const works = probe.getPassword() === 'probe';
      probe.deletePassword();
      return works
        ? new KeyringTokenStore(
            new Entry('gatehouse', 'tokens'),
            new Entry('gatehouse', 'dpop-keys'),
            lockDir,
          )
        : undefined;
    } catch {
      return undefined;
    }
  }

  get(profile: string): Promise<StoredTokens | undefined> {
    return this.tokens.get(profile);
  }

  set(profile: string, tokens: StoredTokens): Promise<void> {
    assertProfileName(profile);
    return this.tokens.update((profiles) => {
      profiles[profile] = tokens;
      return { changed: true, result: undefined };
    });
  }

  delete(profile: string): Promise<boolean> {
    return this.tokens.delete(profile);
  }

  list(): Promise<string[]> {
    return Promise.resolve(Object.keys(this.tokens.read()).sort());
  }

  getDpopKey(profile: string): Promise<StoredDpopKey | undefined> {
    return this.keys.get(profile);
  }

  addDpopKey(profile: string, key: StoredDpopKey): Promise<StoredDpopKey> {
    return this.keys.addIfAbsent(profile, key);
  }

  deleteDpopKey(profile: string): Promise<boolean> {
    return this.keys.delete(profile);
  }
}

/** The keyring where one works, else the file store. `GATEHOUSE_TOKEN_STORE=file` forces the file. */
export async function openTokenStore(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<TokenStore> {
  if (env.GATEHOUSE_TOKEN_STORE !== 'file') {
    const keyring = await KeyringTokenStore.open(configDir(env));
    if (keyring !== undefined) return keyring;
  }
  return new FileTokenStore(configDir(env));
}

/**
 * A lock file per name (a profile, or the token file itself), so two commands refreshing at once
 * do not both spend the same rotating refresh token (the second would revoke the whole grant), and
 * two writers of the token file do not undo each other. The holder refreshes the file's time while
 * it works and removes only its own lock; a lock left by a crashed process expires.
 */
export async function withProfileLock<T>(
  dir: string,
  name: string,
  work: () => Promise<T>,
  options: { waitMs?: number; staleMs?: number } = {},
): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
  const staleMs = options.staleMs ?? 60_000;
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  const owner = `${process.pid}:${randomBytes(8).toString('hex')}`;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(owner);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const seen = await lockState(path);
      if (seen !== undefined && Date.now() - seen.mtimeMs > staleMs) {
        // Remove it only if it is still the same stale lock: another waiter may have replaced it.
        const again = await lockState(path);
        if (again?.owner === seen.owner && again.mtimeMs === seen.mtimeMs)
          await rm(path, { force: true });
      } else if (Date.now() > deadline) {
        throw new Error(
          `another gatehouse command holds ${path}; try again, or delete the file if no such command runs`,
          { cause: error },
        );
      } else {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
  // A live holder never looks stale, however long its work takes.
  const heartbeat = setInterval(
    () => {
      const now = new Date();
      void utimes(path, now, now).catch(() => undefined);
    },
    Math.max(10, Math.floor(staleMs / 4)),
  );
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    if ((await lockState(path))?.owner === owner) await rm(path, { force: true });
  }
}

async function lockState(path: string): Promise<{ owner: string; mtimeMs: number } | undefined> {
  try {
    const [owner, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { owner, mtimeMs: info.mtimeMs };
  } catch {
    return undefined;
  }
}
