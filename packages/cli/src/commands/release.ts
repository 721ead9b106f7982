import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  applyState,
  interpolate,
  parseDeclaredState,
  planState,
  type ClientChange,
  type DeclaredState,
  type EnvironmentChange,
  type UserChange,
  type StatePlan,
} from '@gatehouse/server';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { ExitCode, UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { printable, styleFor, type Style } from '../output/text.js';
import { withDataOptions, withStores, writeJson, type DataOptions } from './data-options.js';

interface FileOptions extends DataOptions {
  file: string;
  json?: boolean;
}

/** Reads, parses (YAML or JSON) and interpolates a declarative file. */
async function readState(io: CliIo, file: string): Promise<DeclaredState> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    );
  }
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new UsageError(
      `${file} is not valid YAML or JSON: ${((error as Error).message.split('\n')[0] ?? '').replace(/:$/, '')}`,
    );
  }
  return parseDeclaredState(interpolate(document, io.env));
}

/** A client setting's value in a plan: a key set by its size, lists joined, none as "-". */
function settingText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : printable(value.join(' '));
  if (typeof value === 'object' && 'keys' in value && Array.isArray(value.keys))
    return `${value.keys.length} key${value.keys.length === 1 ? '' : 's'}`;
  return printable(typeof value === 'string' ? value : JSON.stringify(value));
}

const when = (at: number | null): string =>
  at === null ? 'never expires' : `expires ${new Date(at).toISOString()}`;

function changeLines(change: ClientChange, style: Style): string[] {
  const where = `${change.environment}/${change.key}`;
  if (change.action === 'unchanged')
    return [style.dim(`= ${where} (${change.clientId ?? ''}): no changes`)];
  const head =
    change.action === 'create'
      ? style.green(`+ ${where}: create`)
      : style.yellow(`~ ${where} (${change.clientId ?? ''}): update`);
  const lines = [head];
  if (change.name !== undefined && change.action === 'update')
    lines.push(`    name: ${printable(change.name.from ?? '')} -> ${printable(change.name.to)}`);
  if (change.grantTypes !== undefined)
    lines.push(
      `    grants: ${change.grantTypes.from?.join(', ') ?? '(default)'} -> ${change.grantTypes.to.join(', ')}`,
    );
  if (change.scopes !== undefined)
    lines.push(
      `    scopes: ${change.scopes.from === null ? '-' : printable(change.scopes.from.join(' ')) || '(none)'} -> ${printable(change.scopes.to.join(' ')) || '(none)'}`,
    );
  if (change.skipConsent !== undefined)
    lines.push(
      `    skip consent: ${String(change.skipConsent.from)} -> ${String(change.skipConsent.to)}`,
    );
  for (const [name, { from, to }] of Object.entries(change.settings ?? {}))
    lines.push(
      `    ${name}: ${settingText(from)} -> ${settingText(to)}` +
        (name === 'pkceExemptWithNonce' && to === true
          ? style.yellow('  (warning: PKCE no longer required when it sends a nonce)')
          : ''),
    );
  for (const { uri, expiresAt } of change.addedUris)
    lines.push(
      style.green(`    + ${printable(uri)}`) +
        (expiresAt === null ? '' : style.dim(`  (${when(expiresAt)})`)),
    );
  for (const uri of change.removedUris) lines.push(style.red(`    - ${printable(uri)}`));
  for (const { uri, from, to } of change.expiryChanges)
    lines.push(`    ~ ${printable(uri)}: ${when(from)} -> ${when(to)}`);
  for (const pair of change.pairs) {
    // The caret sits under the escaped text, so measure the escaped prefix.
    const column = printable(pair.registered.slice(0, pair.index)).length;
    lines.push(
      `        registered  ${printable(pair.registered.slice(0, pair.index))}${style.red(printable(pair.registered.slice(pair.index)))}`,
      `        in file     ${printable(pair.declared.slice(0, pair.index))}${style.green(printable(pair.declared.slice(pair.index)))}`,
      `                    ${' '.repeat(column)}${style.yellow(`^ first difference, character ${pair.index + 1}`)}`,
    );
  }
  return lines;
}

function userLine(change: UserChange, style: Style): string {
  const where = `${change.environment}/user ${printable(change.email)}`;
  const verified =
    change.emailVerified === undefined ? '' : `email_verified: ${String(change.emailVerified.to)}`;
  if (change.action === 'create')
    return style.green(`+ ${where}: create (no password; ${verified})`);
  if (change.action === 'update')
    return style.yellow(
      `~ ${where}: email_verified ${String(change.emailVerified?.from)} -> ${String(change.emailVerified?.to)}`,
    );
  return style.dim(`= ${where}: no changes`);
}

function environmentLines(change: EnvironmentChange, style: Style): string[] {
  const where = `${change.environment} (environment settings)`;
  if (change.action === 'unchanged') return [style.dim(`= ${where}: no changes`)];
  return [
    style.yellow(`~ ${where}: update`),
    ...Object.entries(change.settings).map(
      ([name, { from, to }]) => `    ${name}: ${settingText(from)} -> ${settingText(to)}`,
    ),
    // Issue #18: registrations of other clients the declared loopback policy refuses.
    ...(change.loopbackViolations ?? []).map(
      (v) =>
        `    note: ${v.clientId} ${v.kind === 'redirect' ? 'redirect' : 'post-logout'} ${printable(v.uri)} uses a loopback host the policy refuses; it will no longer match${v.suggestion === undefined ? '' : ` (register ${printable(v.suggestion)})`}`,
    ),
  ];
}

function planLines(plan: StatePlan, style: Style): string[] {
  return [
    ...plan.environments.flatMap((e) => environmentLines(e, style)),
    ...plan.changes.flatMap((c) => changeLines(c, style)),
    ...plan.users.map((u) => userLine(u, style)),
    ...plan.problems.map((p) =>
      style.red(
        `refused: ${p.environment}/${p.key}${p.uri === undefined ? '' : ` ${printable(p.uri)}`}: ${printable(p.message)}`,
      ),
    ),
    ...plan.orphans.map(
      (o) =>
        `note: ${o.environment}/${o.clientId} is managed by "${printable(o.key)}", which the file no longer declares in ${o.environment}; it is kept`,
    ),
  ];
}

/** What a plan changes, for its summary line. */
function changedKinds(plan: StatePlan): string {
  const users = plan.users.some((u) => u.action !== 'unchanged');
  const environments = plan.environments.some((e) => e.action !== 'unchanged');
  if (!environments) return users ? 'client(s) or user(s)' : 'client(s)';
  return users ? 'environment(s), client(s) or user(s)' : 'environment(s) or client(s)';
}

/** `gatehouse plan` and `gatehouse apply`: redirect registration as a reviewed release artefact. */
export function releaseCommands(io: CliIo, setExitCode: (code: ExitCode) => void): Command[] {
  const plan = withDataOptions(
    new Command('plan')
      .description(
        'compare a declarative file with the server; exit 0 in sync, 3 changes to apply, 1 refused',
      )
      .requiredOption(
        '-f, --file <file>',
        'the YAML or JSON file (${VAR} is read from the environment)',
      )
      .option('--json', 'JSON output'),
  ).action((options: FileOptions) =>
    withStores(options, io, async (ctx) => {
      const state = await readState(io, options.file);
      const result = await planState(ctx, state);
      if (options.json === true) writeJson(io, result);
      else {
        const style = styleFor(io.stdout, io.env);
        io.stdout.write(
          `${[
            ...planLines(result, style),
            result.problems.length > 0
              ? `${result.problems.length} problem(s): apply would refuse this file and change nothing`
              : result.changeCount === 0
                ? 'in sync: nothing to apply'
                : `${result.changeCount} ${changedKinds(result)} to change: run gatehouse apply -f ${options.file}`,
          ].join('\n')}\n`,
        );
      }
      if (result.problems.length > 0) setExitCode(ExitCode.Failed);
      else if (result.changeCount > 0) setExitCode(ExitCode.Changes);
    }),
  );
  const apply = withDataOptions(
    new Command('apply')
      .description(
        'validate a declarative file with the redirect policy, then apply it all or nothing',
      )
      .requiredOption(
        '-f, --file <file>',
        'the YAML or JSON file (${VAR} is read from the environment)',
      )
      .option('--json', 'JSON output'),
  ).action((options: FileOptions) =>
    withStores(options, io, async (ctx) => {
      const state = await readState(io, options.file);
      const style = styleFor(io.stdout, io.env);
      const result = await applyState(ctx, state, (work) => ctx.transaction(work));
      if (options.json === true) {
        writeJson(io, result);
        return;
      }
      io.stdout.write(
        `${[
          ...planLines(result.plan, style),
          ...result.applied.flatMap((a) =>
            a.clientSecret === undefined
              ? []
              : [
                  `client_secret for ${a.environment}/${a.key} (${a.clientId}): ${a.clientSecret}`,
                  'shown once: store it now',
                ],
          ),
          result.applied.length + result.appliedUsers.length === 0
            ? 'in sync: nothing changed'
            : `applied: ${result.applied.length} client(s) changed` +
              (result.appliedUsers.length === 0
                ? ''
                : `, ${result.appliedUsers.length} user(s) changed`),
        ].join('\n')}\n`,
      );
    }),
  );
  return [plan, apply];
}
