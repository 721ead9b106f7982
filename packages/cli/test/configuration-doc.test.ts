import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, type CliIo } from '../src/program.js';

/**
 * docs/configuration.md is the one table of every flag and environment variable. This checks it
 * against the command definitions and the sources, both ways, so it cannot drift.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Row {
  readonly line: string;
  readonly flag: string | undefined;
  readonly commands: readonly string[];
  readonly env: string;
  readonly default: string;
}

/** The cells of one markdown table row; `\|` is a pipe inside a cell. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

function documentedRows(): Row[] {
  const text = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  const table = text.slice(text.indexOf('## Every flag and environment variable'));
  return table
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) => {
      const [flag = '', commands = '', env = '', dflt = ''] = cells(line);
      return {
        line,
        flag: flag === '—' ? undefined : [...flag.matchAll(/--[a-z][a-z-]*/g)].at(-1)?.[0],
        commands: [...commands.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ''),
        env,
        default: dflt,
      };
    });
}

interface Defined {
  readonly path: string;
  readonly long: string;
  readonly defaultValue: unknown;
  readonly description: string;
}

function definitions(): { options: Defined[]; leaves: string[] } {
  const io: CliIo = {
    stdout: { write: () => true },
    stderr: { write: () => true },
    readStdin: () => Promise.resolve(''),
    readLine: () => Promise.resolve(''),
    env: {},
    cwd: ROOT,
    waitForStop: () => Promise.resolve(),
  };
  const options: Defined[] = [];
  const leaves: string[] = [];
  const walk = (command: Command, path: string[]): void => {
    const name = path.length === 0 ? 'gatehouse' : path.join(' ');
    if (command.commands.length === 0) leaves.push(name);
    for (const option of command.options)
      options.push({
        path: name,
        long: option.long ?? option.flags,
        defaultValue: option.defaultValue,
        description: option.description,
      });
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(
    buildProgram(io, () => undefined),
    [],
  );
  return { options, leaves };
}

const matches = (entry: string, path: string): boolean =>
  entry === path || (entry.endsWith(' *') && path.startsWith(entry.slice(0, -1)));

describe('docs/configuration.md', () => {
  const rows = documentedRows();
  const { options, leaves } = definitions();

  it('has a row for every flag of every command', () => {
    const missing = options
      .filter(
        (o) =>
          !rows.some((row) => row.flag === o.long && row.commands.some((e) => matches(e, o.path))),
      )
      .map((o) => `${o.path} ${o.long}`);
    expect(missing).toEqual([]);
  });

  it('documents no flag that a command does not have', () => {
    const has = (path: string, long: string) =>
      options.some((o) => o.path === path && o.long === long);
    const extra: string[] = [];
    for (const row of rows) {
      if (row.flag === undefined) continue;
      const flag = row.flag;
      if (row.commands.length === 0) extra.push(`${flag}: no command named`);
      for (const entry of row.commands) {
        const under = entry.endsWith(' *')
          ? leaves.filter((leaf) => matches(entry, leaf))
          : [entry];
        // `clients *` claims the flag for every clients subcommand.
        if (under.length === 0 || !under.every((leaf) => has(leaf, flag)))
          extra.push(`${entry} ${flag}`);
      }
    }
    expect(extra).toEqual([]);
  });

  it("names each flag's default and environment variable", () => {
    const wrong: string[] = [];
    for (const o of options) {
      const row = rows.find((r) => r.flag === o.long && r.commands.some((e) => matches(e, o.path)));
      if (row === undefined) continue;
      const dflt = o.defaultValue;
      if (
        (typeof dflt === 'string' || typeof dflt === 'number') &&
        !row.default.includes(`\`${String(dflt)}\``)
      )
        wrong.push(`${o.path} ${o.long}: default ${String(dflt)} not in "${row.default}"`);
      for (const variable of o.description.match(/GATEHOUSE_[A-Z_]+/g) ?? [])
        if (!row.env.includes(variable))
          wrong.push(`${o.path} ${o.long}: ${variable} not in its environment column`);
    }
    expect(wrong).toEqual([]);
  });

  it('lists exactly the GATEHOUSE_* environment variables the sources read', () => {
    const inSources = new Set<string>();
    const scan = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) scan(path);
        else if (/\.tsx?$/.test(entry.name))
          for (const m of readFileSync(path, 'utf8').matchAll(/GATEHOUSE_[A-Z][A-Z_]*[A-Z]/g))
            inSources.add(m[0]);
      }
    };
    for (const pkg of readdirSync(join(ROOT, 'packages'))) {
      try {
        scan(join(ROOT, 'packages', pkg, 'src'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    const documented = new Set(rows.flatMap((row) => row.env.match(/GATEHOUSE_[A-Z_]+/g) ?? []));
    expect({
      undocumented: [...inSources].filter((v) => !documented.has(v)).sort(),
      notRead: [...documented].filter((v) => !inSources.has(v)).sort(),
    }).toEqual({ undocumented: [], notRead: [] });
  });
});
