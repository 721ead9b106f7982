import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ThrowawayDatabase } from './databases.js';

/**
 * Real `gatehouse` processes for the scale-out and fault tests: `serve` as a child process of its
 * own (its own process group, so a kill reaches everything it started), and the admin commands as
 * an operator would run them. Every process of one deployment gets the same
 * GATEHOUSE_SECRET_KEY (they decrypt each other's keys) and the same public base URL (they are
 * one issuer behind a load balancer); the tests talk to each process on its own port.
 *
 * The processes run the built program (packages/cli/bin → dist): build first (`npx tsc -b`).
 */

const LAUNCHER = fileURLToPath(new URL('../../../cli/bin/gatehouse.js', import.meta.url));

/** Every `serve` started here; killed if the test process ends before the tests' afterAll. */
const children = new Set<GatehouseProcess>();
process.once('exit', () => {
  for (const child of children) child.killNow();
});

/** Where a deployment keeps its data, as `serve` and the admin commands are told. */
export type DataLocation = { readonly databaseUrl: string } | { readonly dataDir: string };

export function dataLocation(database: ThrowawayDatabase): DataLocation {
  const target = database.target;
  return target.kind === 'postgres'
    ? { databaseUrl: target.url }
    : { dataDir: dirname(target.file) };
}

function dataArgs(data: DataLocation): string[] {
  return 'databaseUrl' in data
    ? ['--database-url', data.databaseUrl]
    : ['--data-dir', data.dataDir];
}

/** A port nobody listens on right now (the kernel's choice); the caller binds it soon after. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One `gatehouse serve` process. */
export class GatehouseProcess {
  private log = '';
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.log += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.log += chunk));
  }

  /** Where this process listens (not the public base URL, which all processes share). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Everything it printed, for failure messages. */
  get output(): string {
    return this.log;
  }

  static async start(options: {
    name: string;
    data: DataLocation;
    port: number;
    baseUrl: string;
    env: Record<string, string>;
  }): Promise<GatehouseProcess> {
    const child = spawn(
      process.execPath,
      [
        LAUNCHER,
        'serve',
        '--port',
        String(options.port),
        '--host',
        '127.0.0.1',
        '--base-url',
        options.baseUrl,
        ...dataArgs(options.data),
      ],
      // A process group of its own: killing -pid reaches the server and anything it spawned.
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: options.env },
    );
    const started = new GatehouseProcess(options.name, options.port, child);
    children.add(started);
    void started.exited.then(() => children.delete(started));
    // Generous: with test files running side by side on a 2-core machine, several processes
    // start at once. This only ends a start that hangs; nothing here measures speed.
    const deadline = Date.now() + 90_000;
    while (!started.log.includes('Gatehouse is listening on')) {
      if (!started.running)
        throw new Error(
          `gatehouse serve (${options.name}) exited before listening (${JSON.stringify(started.exit)}):\n${started.log}`,
        );
      if (Date.now() > deadline) {
        await started.kill('SIGKILL');
        throw new Error(`gatehouse serve (${options.name}) did not start in 90 s:\n${started.log}`);
      }
      await sleep(20);
    }
    return started;
  }

  /** Sends `signal` to the whole process group and waits for the process to end. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    this.killNow(signal);
    return this.exited;
  }

  /** Sends `signal` to the whole process group without waiting. */
  killNow(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM, as an orchestrator stops a process; SIGKILL when it does not stop in 10 s. */
  async stop(): Promise<Exit> {
    if (!this.running) return this.exited;
    const timer = setTimeout(() => void this.kill('SIGKILL'), 10_000);
    try {
      return await this.kill('SIGTERM');
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * One deployment: several `serve` processes on the same data, one secret key, one public URL.
 * Nothing listens on the public URL: it is the load balancer's address, which only appears in
 * issuers and tokens; the tests pick the process each request goes to.
 */
export class Deployment {
  readonly secretKey = randomBytes(32).toString('base64url');
  private readonly processes: GatehouseProcess[] = [];

  private constructor(
    readonly data: DataLocation,
    readonly baseUrl: string,
  ) {}

  static async create(data: DataLocation): Promise<Deployment> {
    return new Deployment(data, `http://127.0.0.1:${await freePort()}`);
  }

  issuer(environment = 'development'): string {
    return `${this.baseUrl}/e/${environment}`;
  }

  /** The environment every process and command of this deployment runs with. */
  get env(): Record<string, string> {
    return { PATH: process.env.PATH ?? '', GATEHOUSE_SECRET_KEY: this.secretKey };
  }

  /** Starts `gatehouse serve`, on `port` when given (a restart), else on a free port. */
  async start(name: string, port?: number): Promise<GatehouseProcess> {
    for (let attempt = 0; ; attempt++) {
      const chosen = port ?? (await freePort());
      try {
        const started = await GatehouseProcess.start({
          name,
          data: this.data,
          port: chosen,
          baseUrl: this.baseUrl,
          env: this.env,
        });
        this.processes.push(started);
        return started;
      } catch (error) {
        // Another program took the free port between the probe and the bind: take another.
        if (port !== undefined || attempt >= 2 || !/in use/.test(String(error))) throw error;
      }
    }
  }

  /** Runs an admin command on this deployment's data (the data options are added). */
  cli(argv: string[], stdin?: string): Promise<CliResult> {
    return runGatehouse([...argv, ...dataArgs(this.data)], { env: this.env, stdin });
  }

  /** Runs an admin command with --json and returns its parsed output; fails on a non-zero exit. */
  async cliJson<T>(argv: string[], stdin?: string): Promise<T> {
    const result = await this.cli([...argv, '--json'], stdin);
    if (result.code !== 0)
      throw new Error(
        `gatehouse ${argv.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`,
      );
    return JSON.parse(result.stdout) as T;
  }

  /** Ends every process this deployment started, whatever state it is in. */
  async stopAll(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill('SIGKILL')));
  }
}

export function runGatehouse(
  argv: string[],
  options: { env: Record<string, string>; stdin?: string | undefined },
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [LAUNCHER, ...argv],
      { env: options.env, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it returns true, for at most `ms` after `since` (when the change was
 * acknowledged; default now): the bound the issue sets on propagation between processes ("in
 * force on all the others within one second"). A check that started before the deadline counts.
 * Returns how long it took; throws with the last observation when the deadline passes.
 */
export async function within(
  ms: number,
  what: string,
  check: () => Promise<boolean | { ok: boolean; seen: unknown }>,
  since = Date.now(),
): Promise<number> {
  const start = since;
  let last: unknown;
  for (;;) {
    const outcome = await check();
    const ok = typeof outcome === 'boolean' ? outcome : outcome.ok;
    if (typeof outcome !== 'boolean') last = outcome.seen;
    if (ok) return Date.now() - start;
    if (Date.now() - start > ms)
      throw new Error(
        `not within ${ms} ms: ${what}${last === undefined ? '' : `; last seen ${JSON.stringify(last)}`}`,
      );
    await sleep(10);
  }
}
