import { execFile } from 'node:child_process';

/**
 * Runs an ES module `script` with this Node in a network namespace of its own (`unshare -rn`: a
 * user namespace too, so it runs unprivileged as well as root), after the shell commands `setup`
 * (each ending in `&&`) shaped its loopback interface; resolves with the JSON it printed.
 */
export function inNetworkNamespace(
  setup: string,
  script: string,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      'unshare',
      [
        '-rn',
        'sh',
        '-c',
        `${setup} exec "$0" --input-type=module -e "$1"`,
        process.execPath,
        script,
      ],
      // A script that never ends (a listener left open) is ended rather than left behind.
      { env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Record<string, unknown>);
      },
    );
  });
}

/** The built login kit, as the scripts import it. */
export const BUILT_KIT = new URL('../../dist/index.js', import.meta.url).href;
