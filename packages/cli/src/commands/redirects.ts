import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  lintRedirectUris,
  matchRedirectUri,
  validateRedirectUri,
  type ClientType,
  type LintWarning,
  type LoopbackHost,
  type PolicyContext,
  type ValidationResult,
} from '@gatehouse/redirect-policy';
import { Command, Option } from 'commander';
import { checkLoopbackHosts, InputError } from '@gatehouse/server';
import { ExitCode, UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { renderDiff } from '../output/diff.js';
import { printable, styleFor } from '../output/text.js';
import { reportCommand } from './redirects-report.js';

const BUILT_IN_ENVIRONMENTS = ['development', 'staging', 'production'];

interface PolicyOptions {
  env: string;
  type: ClientType;
  json?: boolean;
  loopbackHosts?: string;
}

/** Sets the exit code of the current run; commands report their outcome through it. */
export type SetExitCode = (code: ExitCode) => void;

export function redirectsCommand(io: CliIo, setExitCode: SetExitCode): Command {
  const redirects = new Command('redirects').description(
    'check redirect URIs against the Gatehouse redirect policy (no server needed), and report the redirect inventory of an environment',
  );
  redirects.addCommand(validateCommand(io, setExitCode));
  redirects.addCommand(matchCommand(io, setExitCode));
  redirects.addCommand(lintCommand(io, setExitCode));
  redirects.addCommand(reportCommand(io));
  return redirects;
}

function environmentOption(): Option {
  return new Option(
    '--env <environment>',
    'environment whose policy applies (development, staging, production; any other name is held to production rules)',
  ).makeOptionMandatory();
}

function clientTypeOption(): Option {
  return new Option(
    '--type <type>',
    'client type: web (confidential, server-side), native (CLI, desktop, mobile, MCP) or spa (browser app)',
  )
    .choices(['web', 'native', 'spa'])
    .makeOptionMandatory();
}

/** What `env settings --loopback-hosts` sets on a server, for checking offline. */
function loopbackHostsOption(): Option {
  return new Option(
    '--loopback-hosts <hosts>',
    "the environment's loopback hosts, comma-separated from 127.0.0.1, [::1], localhost, as `env settings --loopback-hosts` sets them (default: all three)",
  );
}

/** The loopback hosts given, judged as the server judges the setting; undefined: all three. */
function loopbackHostsOf(text: string | undefined): readonly LoopbackHost[] | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === 'default' || trimmed === 'all') return undefined;
  try {
    return (
      checkLoopbackHosts(trimmed === '' ? [] : trimmed.split(',').map((host) => host.trim())) ??
      undefined
    );
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(`--loopback-hosts: ${error.message}`);
    throw error;
  }
}

function contextOf(options: PolicyOptions, io: CliIo): PolicyContext {
  if (options.env.trim() === '')
    throw new UsageError("option '--env <environment>' must not be empty");
  if (!BUILT_IN_ENVIRONMENTS.includes(options.env)) {
    io.stderr.write(
      `note: "${printable(options.env)}" is not a built-in environment, so production rules apply to it\n`,
    );
  }
  const loopbackHosts = loopbackHostsOf(options.loopbackHosts);
  return {
    environment: options.env,
    clientType: options.type,
    ...(loopbackHosts === undefined ? {} : { loopbackHosts }),
  };
}

function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function validateCommand(io: CliIo, setExitCode: SetExitCode): Command {
  return new Command('validate')
    .description(
      'say whether each URI may be registered for a client of this type in this environment',
    )
    .argument('<uri...>', 'redirect URIs to check')
    .addOption(environmentOption())
    .addOption(clientTypeOption())
    .addOption(loopbackHostsOption())
    .option('--json', 'print one JSON document instead of lines')
    .action((uris: string[], options: PolicyOptions) => {
      const context = contextOf(options, io);
      const results = uris.map((uri) => ({ uri, result: validateRedirectUri(uri, context) }));
      setExitCode(results.every(({ result }) => result.ok) ? ExitCode.Ok : ExitCode.Failed);
      if (options.json === true) {
        writeJson(io, {
          environment: context.environment,
          clientType: context.clientType,
          results: results.map(({ uri, result }) => ({ uri, ...result })),
        });
        return;
      }
      const style = styleFor(io.stdout, io.env);
      for (const { uri, result } of results)
        io.stdout.write(`${validationLine(uri, result, style)}\n`);
    });
}

function validationLine(
  uri: string,
  result: ValidationResult,
  style: ReturnType<typeof styleFor>,
): string {
  if (result.ok) return `${style.green('valid  ')} ${printable(uri)} (${result.kind})`;
  return `${style.red('refused')} ${printable(uri)}: ${result.message} [${result.code}]`;
}

interface MatchCliOptions {
  registered: string[];
  env?: string;
  type?: ClientType;
  json?: boolean;
  loopbackHosts?: string;
}

function matchCommand(io: CliIo, setExitCode: SetExitCode): Command {
  return new Command('match')
    .description(
      'say whether a requested redirect_uri matches one of the registered URIs, and if not, why',
    )
    .argument('<requested>', 'the redirect_uri as it arrives in the authorization request')
    .addOption(
      new Option('--registered <uri>', 'a registered redirect URI (repeat for each)')
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
        .makeOptionMandatory(),
    )
    .option(
      '--env <environment>',
      'the client environment; in production wildcard registrations are not honoured',
    )
    .addOption(
      new Option(
        '--type <type>',
        'the client type; for spa only the exact string matches (no loopback port, no wildcard)',
      ).choices(['web', 'native', 'spa']),
    )
    .addOption(loopbackHostsOption())
    .option('--json', 'print one JSON document instead of lines')
    .action((requested: string, options: MatchCliOptions) => {
      if (options.env?.trim() === '')
        throw new UsageError("option '--env <environment>' must not be empty");
      const loopbackHosts = loopbackHostsOf(options.loopbackHosts);
      const result = matchRedirectUri(requested, options.registered, {
        ...(options.env === undefined ? {} : { environment: options.env }),
        ...(options.type === undefined ? {} : { clientType: options.type }),
        ...(loopbackHosts === undefined ? {} : { loopbackHosts }),
      });
      setExitCode(result.ok ? ExitCode.Ok : ExitCode.Failed);
      if (options.json === true) {
        writeJson(io, { requested, ...result });
        return;
      }
      const style = styleFor(io.stdout, io.env);
      if (result.ok) {
        const how =
          result.via === 'exact'
            ? 'exactly'
            : result.via === 'loopback-port'
              ? 'with the loopback port exception'
              : 'through the wildcard';
        io.stdout.write(`${style.green('match')} ${printable(result.registered)} (${how})\n`);
        return;
      }
      io.stdout.write(`${style.red('no match')}: ${result.message}\n`);
      if (result.closest !== undefined && result.diff !== undefined) {
        for (const line of renderDiff(requested, result.closest, result.diff, style))
          io.stdout.write(`${line}\n`);
      }
    });
}

interface LintCliOptions extends PolicyOptions {
  file: string;
  strict?: boolean;
}

function lintCommand(io: CliIo, setExitCode: SetExitCode): Command {
  return new Command('lint')
    .description(
      'validate and lint a whole list of redirect URIs, as one client would register them',
    )
    .addOption(environmentOption())
    .addOption(clientTypeOption())
    .addOption(loopbackHostsOption())
    .requiredOption(
      '--file <path>',
      'one URI per line (blank lines and # comments skipped) or a JSON array; - for stdin',
    )
    .option('--strict', 'exit 1 on warnings too')
    .option('--json', 'print one JSON document instead of lines')
    .action(async (options: LintCliOptions) => {
      const context = contextOf(options, io);
      const entries = parseUriList(await readInput(options.file, io), options.file);
      const uris = entries.map((entry) => entry.uri);
      const errors = entries.flatMap(({ uri, line }) => {
        const result = validateRedirectUri(uri, context);
        return result.ok ? [] : [{ uri, line, ...result }];
      });
      const warnings = lintRedirectUris(uris, context);
      const failed = errors.length > 0 || (options.strict === true && warnings.length > 0);
      setExitCode(failed ? ExitCode.Failed : ExitCode.Ok);
      if (options.json === true) {
        writeJson(io, {
          environment: context.environment,
          clientType: context.clientType,
          count: uris.length,
          errors,
          warnings,
        });
        return;
      }
      const style = styleFor(io.stdout, io.env);
      for (const error of errors) {
        io.stdout.write(
          `${style.red('error  ')} ${locate(error.line)}${printable(error.uri)}: ${error.message} [${error.code}]\n`,
        );
      }
      for (const warning of warnings)
        io.stdout.write(`${style.yellow('warning')} ${warningLine(warning)}\n`);
      io.stdout.write(
        `${uris.length} ${uris.length === 1 ? 'URI' : 'URIs'}: ${plural(errors.length, 'error')}, ${plural(warnings.length, 'warning')}\n`,
      );
    });
}

function warningLine(warning: LintWarning): string {
  return `${printable(warning.message)} [${warning.code}]`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function locate(line: number | undefined): string {
  return line === undefined ? '' : `line ${line}: `;
}

async function readInput(file: string, io: CliIo): Promise<string> {
  if (file === '-') return io.readStdin();
  try {
    return await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(
      `cannot read ${printable(file)}: ${reason === 'ENOENT' ? 'no such file' : reason}`,
    );
  }
}

interface ListEntry {
  uri: string;
  /** 1-based line in a text list; absent for a JSON array. */
  line?: number;
}

/** A JSON array of strings, or one URI per line. Lines are not trimmed: stray spaces are part of what is checked. */
export function parseUriList(content: string, name: string): ListEntry[] {
  if (content.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(content);
    } catch (error) {
      throw new UsageError(`${printable(name)} is not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
      throw new UsageError(`${printable(name)} must be a JSON array of strings`);
    }
    return parsed.map((uri: string) => ({ uri }));
  }
  return content
    .split('\n')
    .map((text, index) => ({
      uri: text.endsWith('\r') ? text.slice(0, -1) : text,
      line: index + 1,
    }))
    .filter(({ uri }) => uri.trim() !== '' && !uri.trimStart().startsWith('#'));
}
