import {
  ConfigError,
  ensureDefaultEnvironments,
  openGatehouse,
  resolveServerConfig,
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
    .addOption(new Option('--data-dir <dir>', 'SQLite data directory (default ./.gatehouse)'))
    .addOption(
      new Option('--database-url <url>', 'PostgreSQL URL instead of SQLite (or DATABASE_URL)'),
    );
}

export function databaseInput(
  options: DataOptions,
  io: CliIo,
): { dataDir?: string; databaseUrl?: string; secretKey?: string; secretKeyFile?: string } {
  const databaseUrl = options.databaseUrl ?? io.env.DATABASE_URL;
  // The secret that seals signing keys: from the environment only, never an argument.
  const secretKey = io.env.GATEHOUSE_SECRET_KEY;
  const secretKeyFile = io.env.GATEHOUSE_SECRET_KEY_FILE;
  return {
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
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
