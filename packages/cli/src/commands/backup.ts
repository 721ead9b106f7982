import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BackupError, backupSqlite, restoreSqlite } from '@gatehouse/server';
import { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { databaseInput, withDataOptions, type DataOptions } from './data-options.js';

/** Said by both commands: the backup holds the data, never the secret that goes with it. */
function secretNote(dataDir: string): string {
  return `note: the secret key is NOT in the backup: back up ${join(dataDir, 'secret.key')} (or GATEHOUSE_SECRET_KEY / GATEHOUSE_SECRET_KEY_FILE) apart from it; without that secret the signing keys cannot be unsealed and the audit chain cannot be verified`;
}

/** The SQLite data directory these options name; PostgreSQL is refused with what to use instead. */
function sqliteDataDir(options: DataOptions, io: CliIo, postgresAdvice: string): string {
  // The same flags and environment variables as every other command.
  const input = databaseInput(options, io);
  if (input.databaseUrl !== undefined) throw new UsageError(postgresAdvice);
  return resolve(io.cwd, input.dataDir ?? '.gatehouse');
}

/** `gatehouse backup --to FILE` and `gatehouse restore --from FILE` (SQLite). */
export function backupCommands(io: CliIo, setFailed: () => void): Command[] {
  const backup = withDataOptions(
    new Command('backup')
      .description(
        'copy the SQLite database to FILE with SQLite online backup: consistent while gatehouse serve runs (PostgreSQL: use pg_dump)',
      )
      .requiredOption('--to <file>', 'the backup file (replaced atomically if it exists)'),
  ).action(async (options: DataOptions & { to: string }) => {
    const dataDir = sqliteDataDir(
      options,
      io,
      'gatehouse backup copies a SQLite database; for PostgreSQL use pg_dump (pg_dump --format=custom --file=gatehouse.dump "$DATABASE_URL"), see docs/deployment.md',
    );
    try {
      const result = await backupSqlite(
        join(dataDir, 'gatehouse.sqlite'),
        resolve(io.cwd, options.to),
      );
      io.stdout.write(
        `backed up ${result.from} to ${result.to} (${result.bytes} bytes, integrity_check ok)\n${secretNote(dataDir)}\n`,
      );
    } catch (error) {
      if (!(error instanceof BackupError)) throw error;
      io.stderr.write(`gatehouse: error: ${error.message}\n`);
      setFailed();
    }
  });

  const restore = withDataOptions(
    new Command('restore')
      .description(
        'put a backup made by gatehouse backup in place as the SQLite database (the server must be stopped; PostgreSQL: use pg_restore)',
      )
      .requiredOption('--from <file>', 'the backup file')
      .option(
        '--force',
        'replace an existing database (kept as gatehouse.sqlite.before-restore); never while a process has it open',
      ),
  ).action(async (options: DataOptions & { from: string; force?: boolean }) => {
    const dataDir = sqliteDataDir(
      options,
      io,
      'gatehouse restore restores a SQLite database; for PostgreSQL use pg_restore (pg_restore --clean --if-exists --dbname "$DATABASE_URL" gatehouse.dump), see docs/deployment.md',
    );
    try {
      const result = await restoreSqlite(
        resolve(io.cwd, options.from),
        join(dataDir, 'gatehouse.sqlite'),
        { force: options.force === true },
      );
      const lines = [
        `restored ${result.from} to ${result.to} (integrity_check ok)`,
        ...(result.previous === undefined
          ? []
          : [`the database it replaced is kept as ${result.previous}`]),
        secretNote(dataDir),
      ];
      const secretThere =
        (io.env.GATEHOUSE_SECRET_KEY ?? '') !== '' ||
        (io.env.GATEHOUSE_SECRET_KEY_FILE ?? '') !== '' ||
        existsSync(join(dataDir, 'secret.key'));
      if (!secretThere)
        lines.push(
          `warning: ${join(dataDir, 'secret.key')} is missing and GATEHOUSE_SECRET_KEY is not set: put the backed-up server's secret there before gatehouse serve, which would otherwise make a new one that cannot unseal the restored signing keys`,
        );
      lines.push('then check it: gatehouse audit verify');
      io.stdout.write(`${lines.join('\n')}\n`);
    } catch (error) {
      if (!(error instanceof BackupError)) throw error;
      io.stderr.write(`gatehouse: error: ${error.message}\n`);
      setFailed();
    }
  });
  return [backup, restore];
}
