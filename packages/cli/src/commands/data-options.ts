import {
  ConfigError,
  databaseTarget,
  ensureDefaultEnvironments,
  gatehouseDatabaseExists,
  openGatehouse,
  redactUrl,
  resolveServerConfig,
  type ServerConfig,
  withTransaction,
  type ServiceContext,
  type Stores,
} from '@gatehouse/server';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliIo } from '../io.js';

export interface DataOptions {
  dataDir?: string;
  databaseUrl?: string;
}

/** The options that say where the data lives: the same for `serve` and every admin command. */
export function withDataOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--data-dir <dir>',
        'SQLite data directory (or GATEHOUSE_DATA_DIR; default ./.gatehouse)',
      ),
    )
    .addOption(
      new Option(
        '--database-url <url>',
        'PostgreSQL URL instead of SQLite (or GATEHOUSE_DATABASE_URL, or DATABASE_URL)',
      ),
    );
}

/** Where the data is, for messages: the SQLite file, or the PostgreSQL URL without its password. */
export function describeDatabase(database: ServerConfig['database']): string {
  const target = databaseTarget(database);
  return target.kind === 'sqlite' ? target.file : redactUrl(target.url);
}

/** The options that point a command at the same data, for hints printed to the operator. */
export function dataOptionsHint(database: ServerConfig['database']): string {
  return database.kind === 'sqlite'
    ? `--data-dir ${shellQuote(database.dataDir)}`
    : `--database-url ${shellQuote(redactUrl(database.url))}`;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function databaseInput(
  options: DataOptions,
  io: CliIo,
): { dataDir?: string; databaseUrl?: string; secretKey?: string; secretKeyFile?: string } {
  // An explicit --data-dir wins over a database URL from the environment; the flags over both.
  const fromEnv = (name: string): string | undefined =>
    io.env[name] === undefined || io.env[name] === '' ? undefined : io.env[name];
  const databaseUrl =
    options.databaseUrl ??
    (options.dataDir === undefined
      ? (fromEnv('GATEHOUSE_DATABASE_URL') ?? fromEnv('DATABASE_URL'))
      : undefined);
  const dataDir = options.dataDir ?? fromEnv('GATEHOUSE_DATA_DIR');
  // The secret that seals signing keys: from the environment only, never an argument.
  const secretKey = io.env.GATEHOUSE_SECRET_KEY;
  const secretKeyFile = io.env.GATEHOUSE_SECRET_KEY_FILE;
  return {
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(databaseUrl === undefined || databaseUrl === '' ? {} : { databaseUrl }),
    ...(secretKey === undefined || secretKey === '' ? {} : { secretKey }),
    ...(secretKeyFile === undefined || secretKeyFile === '' ? {} : { secretKeyFile }),
  };
}

/** What an admin command gets: the services' context, and a way to run work all or nothing. */
export interface AdminContext extends ServiceContext {
  readonly stores: Stores;
  transaction<T>(work: (ctx: ServiceContext) => Promise<T>): Promise<T>;
}

/** Opens the data, runs `work` as the CLI administrator, and always closes the database. */
export async function withStores<T>(
  options: DataOptions,
  io: CliIo,
  work: (ctx: AdminContext) => Promise<T>,
): Promise<T> {
  const config = resolveServerConfig(databaseInput(options, io), io.cwd);
  // Only `serve` and `init` create a database: anything else on a missing one is a wrong path.
  await requireExistingDatabase(config.database);
  let opened;
  try {
    opened = await openGatehouse(config.database, config.secret);
  } catch (error) {
    throw new ConfigError(
      `cannot open the database: ${error instanceof Error ? error.message : 'unknown error'}`,
    );
  }
  try {
    const { handle, storeOptions } = opened;
    const ctx: AdminContext = {
      stores: opened.stores,
      clock: Date.now,
      actor: 'admin:cli',
      transaction: (inner) =>
        withTransaction(
          handle,
          (stores) => inner({ stores, clock: Date.now, actor: 'admin:cli' }),
          storeOptions,
        ),
    };
    // Admin commands may come before the first `serve`: the standard environments exist either way.
    await ensureDefaultEnvironments(ctx);
    return await work(ctx);
  } finally {
    await opened.handle.close();
  }
}

/** The refusal, in one line, when `database` holds no Gatehouse database yet. Creates nothing. */
export async function requireExistingDatabase(database: ServerConfig['database']): Promise<void> {
  let exists: boolean;
  try {
    exists = await gatehouseDatabaseExists(databaseTarget(database));
  } catch (error) {
    throw new ConfigError(
      `cannot open the database at ${describeDatabase(database)}: ${error instanceof Error ? error.message : 'unknown error'}`,
    );
  }
  if (!exists)
    throw new ConfigError(
      `no Gatehouse database at ${describeDatabase(database)}; run \`gatehouse serve\` or \`gatehouse init\` there first, or point to it with --data-dir / GATEHOUSE_DATA_DIR, or --database-url / GATEHOUSE_DATABASE_URL`,
    );
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Commands that can answer in JSON. */
export interface JsonOption {
  json?: boolean;
}

/** The mandatory `--env <environment>` of commands that act on one environment. */
export function envOption(): Option {
  return new Option('--env <environment>', 'environment').makeOptionMandatory();
}

/** Prints lines of text output. */
export function say(io: CliIo, lines: readonly string[]): void {
  io.stdout.write(`${lines.join('\n')}\n`);
}
