import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run, type CliIo } from '../src/program.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real program in-process with captured streams. */
export async function gatehouse(
  argv: string[],
  options: {
    stdin?: string;
    tty?: boolean;
    env?: Record<string, string>;
    cwd?: string;
    lines?: () => Promise<string>;
  } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text), isTTY: options.tty ?? false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    readStdin: () => Promise.resolve(options.stdin ?? ''),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    waitForStop: () => Promise.resolve(),
    readLine: options.lines ?? (() => Promise.resolve('')),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

const LAUNCHER = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));

/** Runs the built `gatehouse` launcher as a separate process, as a user would. */
export function gatehouseProcess(argv: string[], stdin?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [LAUNCHER, ...argv],
      { env: { PATH: process.env.PATH ?? '' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

/**
 * Creates the database the admin commands then work on (`gatehouse init`): they refuse to
 * create one themselves. `args` are the data options (`--data-dir DIR`).
 */
export async function initData(args: string[], env: Record<string, string> = {}): Promise<void> {
  const result = await gatehouse(['init', ...args], { env });
  if (result.code !== 0) throw new Error(`gatehouse init failed: ${result.stderr}`);
}
