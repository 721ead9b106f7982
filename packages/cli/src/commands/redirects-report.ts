import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  DEFAULT_EXPIRING_DAYS,
  DEFAULT_UNUSED_DAYS,
  formatRedirectReport,
  redirectReport,
  REPORT_FORMATS,
  type ReportFormat,
} from '@gatehouse/server';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { printable } from '../output/text.js';
import { envOption, withDataOptions, withStores, type DataOptions } from './data-options.js';

interface ReportCliOptions extends DataOptions {
  env: string;
  format: ReportFormat;
  unusedDays?: number;
  expiringDays?: number;
  output?: string;
}

/** A whole number of days, 0 to 3650: anything else is a usage error, in one line. */
function days(flag: string) {
  return (value: string): number => {
    if (!/^\d{1,4}$/.test(value) || Number(value) > 3650)
      throw new UsageError(`${flag} must be a whole number of days from 0 to 3650`);
    return Number(value);
  };
}

/**
 * `gatehouse redirects report`: the redirect inventory of one environment from the database, as
 * a security team reviews it (issue #18). Reads only; exit 0 whatever it finds, since the flags
 * are for a person to judge.
 */
export function reportCommand(io: CliIo): Command {
  return withDataOptions(
    new Command('report')
      .description(
        "the redirect inventory of an environment: every client's redirect and post-logout URIs, who registered them and how, last use, counts, near misses, and flags for a reviewer",
      )
      .addOption(envOption())
      .addOption(
        new Option('--format <format>', 'md (Markdown), json or csv')
          .choices(REPORT_FORMATS)
          .default('md'),
      )
      .addOption(
        new Option(
          '--unused-days <n>',
          `flag URIs not used for this many days (default ${DEFAULT_UNUSED_DAYS})`,
        ).argParser(days('--unused-days')),
      )
      .addOption(
        new Option(
          '--expiring-days <n>',
          `flag temporary URIs expiring within this many days (default ${DEFAULT_EXPIRING_DAYS})`,
        ).argParser(days('--expiring-days')),
      )
      .option('--output <file>', 'write the report to this file instead of standard output'),
  ).action((options: ReportCliOptions) =>
    withStores(options, io, async (ctx) => {
      const report = await redirectReport(ctx, options.env, {
        ...(options.unusedDays === undefined ? {} : { unusedDays: options.unusedDays }),
        ...(options.expiringDays === undefined ? {} : { expiringDays: options.expiringDays }),
      });
      const text = formatRedirectReport(report, options.format);
      if (options.output === undefined) {
        io.stdout.write(text);
        return;
      }
      try {
        await writeFile(resolve(io.cwd, options.output), text, 'utf8');
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? 'unwritable';
        throw new UsageError(`cannot write ${printable(options.output)}: ${reason}`);
      }
      const flagged = Object.values(report.summary.flags).reduce((a, b) => a + b, 0);
      io.stdout.write(
        `wrote ${printable(options.output)}: ${report.summary.clients} clients, ${report.summary.redirectUris} redirect and ${report.summary.postLogoutUris} post-logout URIs, ${flagged} flags\n`,
      );
    }),
  );
}
