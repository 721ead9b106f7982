import {
  ConfigError,
  ensureDefaultEnvironments,
  gatehouseDatabaseExists,
  databaseTarget,
  openGatehouse,
  resolveServerConfig,
} from '@gatehouse/server';
import { Command, Option } from 'commander';
import type { CliIo } from '../io.js';
import {
  databaseInput,
  describeDatabase,
  say,
  withDataOptions,
  writeJson,
  type DataOptions,
  type JsonOption,
} from './data-options.js';

/**
 * `gatehouse init`: creates the database (and, for SQLite without a configured secret, the
 * secret key beside it) with the standard environments, as `serve` does on its first start.
 * The only command besides `serve` that creates a database; on an existing one it changes
 * nothing but pending migrations.
 */
export function initCommand(io: CliIo): Command {
  return withDataOptions(
    new Command('init')
      .description(
        'create the database and the standard environments, as serve does on first start',
      )
      .addOption(new Option('--json', 'JSON output')),
  ).action(async (options: DataOptions & JsonOption) => {
    const config = resolveServerConfig(databaseInput(options, io), io.cwd);
    const where = describeDatabase(config.database);
    let existed: boolean;
    try {
      existed = await gatehouseDatabaseExists(databaseTarget(config.database));
    } catch (error) {
      throw new ConfigError(
        `cannot open the database at ${where}: ${error instanceof Error ? error.message : 'unknown error'}`,
      );
    }
    let opened;
    try {
      opened = await openGatehouse(config.database, config.secret);
    } catch (error) {
      throw new ConfigError(
        `cannot create the database at ${where}: ${error instanceof Error ? error.message : 'unknown error'}`,
      );
    }
    let environments: string[];
    try {
      await ensureDefaultEnvironments({
        stores: opened.stores,
        clock: Date.now,
        actor: 'admin:cli',
      });
      environments = (await opened.stores.environments.list()).map((e) => e.name);
    } finally {
      await opened.handle.close();
    }
    const secretFile = 'file' in config.secret ? config.secret.file : undefined;
    if (options.json === true) {
      writeJson(io, {
        created: !existed,
        database: where,
        ...(secretFile === undefined ? {} : { secret_key_file: secretFile }),
        environments,
      });
      return;
    }
    say(io, [
      existed
        ? `A Gatehouse database exists already at ${where}`
        : `Created a Gatehouse database at ${where}`,
      ...(secretFile === undefined
        ? []
        : [`  secret key    ${secretFile} (keep it with the database)`]),
      `  environments  ${environments.join(', ')}`,
    ]);
  });
}
