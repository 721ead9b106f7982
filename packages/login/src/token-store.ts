import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
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
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as Profiles;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`cannot read ${this.file}: ${(error as Error).message}`, { cause: error });
    }
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
    return (await this.read())[profile];
  }

  async set(profile: string, tokens: StoredTokens): Promise<void> {
    const profiles = await this.read();
    profiles[profile] = tokens;
    await this.write(profiles);
  }

  async delete(profile: string): Promise<boolean> {
    const profiles = await this.read();
    if (!(profile in profiles)) return false;
    await this.write(
      Object.fromEntries(Object.entries(profiles).filter(([name]) => name !== profile)),
    );
    return true;
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
  ) {}

  /** A keyring store if one works on this machine (it is probed), else undefined. */
  static async open(): Promise<KeyringTokenStore | undefined> {
    try {
      const { Entry } = await import('@napi-rs/keyring');
      const probe = new Entry('gatehouse', `probe-${randomBytes(4).toString('hex')}`);
      probe.setPassword('probe');
      const works = probe.getPassword() === 'probe';
      probe.deletePassword();
      return works ? new KeyringTokenStore(new Entry('gatehouse', 'tokens')) : undefined;
    } catch {
      return undefined;
    }
  }

  private read(): Profiles {
    const raw = this.entry.getPassword();
    return raw === null || raw === undefined || raw === '' ? {} : (JSON.parse(raw) as Profiles);
  }

  get(profile: string): Promise<StoredTokens | undefined> {
    return Promise.resolve(this.read()[profile]);
  }

  set(profile: string, tokens: StoredTokens): Promise<void> {
    this.entry.setPassword(JSON.stringify({ ...this.read(), [profile]: tokens }));
    return Promise.resolve();
  }

  delete(profile: string): Promise<boolean> {
    const profiles = this.read();
    if (!(profile in profiles)) return Promise.resolve(false);
    this.entry.setPassword(
      JSON.stringify(
        Object.fromEntries(Object.entries(profiles).filter(([name]) => name !== profile)),
      ),
    );
    return Promise.resolve(true);
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
    const keyring = await KeyringTokenStore.open();
    if (keyring !== undefined) return keyring;
  }
  return new FileTokenStore(configDir(env));
}

/**
 * A lock file per profile, so two commands refreshing at once do not both spend the same rotating
 * refresh token (the second would revoke the whole grant). Stale locks (a crashed process) expire.
 */
export async function withProfileLock<T>(
  dir: string,
  profile: string,
  work: () => Promise<T>,
  options: { waitMs?: number; staleMs?: number } = {},
): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${profile.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > (options.staleMs ?? 60_000)) await rm(path, { force: true });
      else if (Date.now() > deadline)
        throw new Error(
          `another gatehouse command holds ${path}; try again, or delete the file if no such command runs`,
          { cause: error },
        );
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await work();
  } finally {
    await rm(path, { force: true });
  }
}
