import { chmod, mkdir, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StoredTokens } from './tokens.js';

/** Where tokens live, per profile. Implementations keep them out of logs and out of other users' reach. */
export interface TokenStore {
  /** `keyring` (the OS keyring) or `file` (unencrypted, owner-only file). */
  readonly kind: 'keyring' | 'file';
  get(profile: string): Promise<StoredTokens | undefined>;
  set(profile: string, tokens: StoredTokens): Promise<void>;
  delete(profile: string): Promise<boolean>;
  list(): Promise<string[]>;
}

type Profiles = Record<string, StoredTokens>;

/** Letters, digits, dot, dash and underscore: a profile name is also part of a lock file name. */
export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function assertProfileName(profile: string): void {
  if (!PROFILE_NAME.test(profile))
    throw new TypeError(
      `invalid profile name "${profile.slice(0, 64)}": use letters, digits, ., _ and -`,
    );
}

/** Parses the stored profiles; a damaged file is reported without quoting it (it holds tokens). */
function parseProfiles(text: string, where: string): Profiles {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${where} is damaged (not JSON); delete it and log in again`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${where} is damaged (not an object); delete it and log in again`);
  return Object.assign(Object.create(null) as Profiles, parsed);
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
 * Tokens in one JSON file: directory 0700, file 0600, replaced atomically (write a temporary file,
 * then rename), so a crash never leaves half a file and no other user can read it.
 */
export class FileTokenStore implements TokenStore {
  readonly kind = 'file' as const;
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = join(dir, 'tokens.json');
  }

  /** Whether the file exists yet: the CLI warns once, when it is first created. */
  async exists(): Promise<boolean> {
    return stat(this.file).then(
      () => true,
      () => false,
    );
  }

  private async read(): Promise<Profiles> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(
        `cannot read ${this.file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
        { cause: error },
      );
    }
    return parseProfiles(text, this.file);
  }

  /** Read, change and write under one lock, so concurrent writers of other profiles are not undone. */
  private async update(change: (profiles: Profiles) => boolean): Promise<boolean> {
    return withProfileLock(this.dir, '.tokens-file', async () => {
      const profiles = await this.read();
      const changed = change(profiles);
      if (changed) await this.write(profiles);
      return changed;
    });
  }

  private async write(profiles: Profiles): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // An existing directory may have been created looser; tighten it.
    await chmod(this.dir, 0o700);
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(profiles, null, 2));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.file);
  }

  async get(profile: string): Promise<StoredTokens | undefined> {
    assertProfileName(profile);
    const profiles = await this.read();
    return Object.hasOwn(profiles, profile) ? profiles[profile] : undefined;
  }

  async set(profile: string, tokens: StoredTokens): Promise<void> {
    assertProfileName(profile);
    await this.update((profiles) => {
      profiles[profile] = tokens;
      return true;
    });
  }

  async delete(profile: string): Promise<boolean> {
    assertProfileName(profile);
    return this.update((profiles) => {
      if (!Object.hasOwn(profiles, profile)) return false;
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a checked profile name
      delete profiles[profile];
      return true;
    });
  }

  async list(): Promise<string[]> {
    return Object.keys(await this.read()).sort();
  }
}

/** The OS keyring (Keychain, Credential Manager, Secret Service) through @napi-rs/keyring. */
export class KeyringTokenStore implements TokenStore {
  readonly kind = 'keyring' as const;

  private constructor(
    private readonly entry: {
      getPassword(): string | null | undefined;
      setPassword(value: string): void;
      deletePassword(): boolean;
    },
    /** Where the lock that serialises writers lives. */
    private readonly lockDir: string,
  ) {}

  /** A keyring store if one works on this machine (it is probed), else undefined. */
  static async open(lockDir: string = configDir()): Promise<KeyringTokenStore | undefined> {
    try {
      const { Entry } = await import('@napi-rs/keyring');
      const probe = new Entry('gatehouse', `probe-${randomBytes(4).toString('hex')}`);
      probe.setPassword('probe');
      const works = probe.getPassword() === 'probe';
      probe.deletePassword();
      return works ? new KeyringTokenStore(new Entry('gatehouse', 'tokens'), lockDir) : undefined;
    } catch {
      return undefined;
    }
  }

  private read(): Profiles {
    const raw = this.entry.getPassword();
    return raw === null || raw === undefined || raw === ''
      ? {}
      : parseProfiles(raw, 'the keyring entry gatehouse/tokens');
  }

  get(profile: string): Promise<StoredTokens | undefined> {
    assertProfileName(profile);
    const profiles = this.read();
    return Promise.resolve(Object.hasOwn(profiles, profile) ? profiles[profile] : undefined);
  }

  set(profile: string, tokens: StoredTokens): Promise<void> {
    assertProfileName(profile);
    return withProfileLock(this.lockDir, '.tokens-keyring', () => {
      this.entry.setPassword(JSON.stringify({ ...this.read(), [profile]: tokens }));
      return Promise.resolve();
    });
  }

  delete(profile: string): Promise<boolean> {
    assertProfileName(profile);
    return withProfileLock(this.lockDir, '.tokens-keyring', () => {
      const profiles = this.read();
      if (!Object.hasOwn(profiles, profile)) return Promise.resolve(false);
      this.entry.setPassword(
        JSON.stringify(
          Object.fromEntries(Object.entries(profiles).filter(([name]) => name !== profile)),
        ),
      );
      return Promise.resolve(true);
    });
  }

  list(): Promise<string[]> {
    return Promise.resolve(Object.keys(this.read()).sort());
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
