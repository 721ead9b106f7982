/**
 * Everything a command touches outside itself, passed in so that tests drive the real program
 * in-process with captured output, and `bin.ts` wires it to the process.
 */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Reads all of standard input (for `--file -`). */
  readonly readStdin: () => Promise<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Asks the user for one line on the terminal (paste mode). */
  readonly readLine: (prompt: string) => Promise<string>;
  /** Resolves when a long-running command (`serve`) should stop: SIGINT or SIGTERM for the process. */
  readonly waitForStop: () => Promise<void>;
}

export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    cwd: process.cwd(),
    readLine: async (prompt) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(prompt);
      } finally {
        rl.close();
      }
    },
    waitForStop: () =>
      new Promise((resolve) => {
        process.once('SIGINT', () => {
          resolve();
        });
        process.once('SIGTERM', () => {
          resolve();
        });
      }),
  };
}
