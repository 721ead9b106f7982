import {
  formatDoctorReport,
  runDoctor,
  useProxyFromEnvironment,
  type DoctorOptions,
  type LoopbackHost,
} from '@gatehouse/login';
import { Command, Option } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { printable } from '../output/text.js';
import { terminalJson } from '../output/terminal-json.js';

interface DoctorCliOptions {
  issuer?: string;
  clientId?: string;
  host: LoopbackHost;
  port?: string;
  allowHttpLoopback?: boolean;
  browserTest?: boolean;
  browserTimeout: string;
  open: boolean;
  json?: boolean;
}

/**
 * `gatehouse login doctor`: the login kit's runDoctor with the options of `login` itself (the
 * same --host and --port give the same redirect URI), a report to attach, and an exit status a
 * script can use: 0 where the loopback sign-in would work, 1 where not (naming the fallback).
 */
export function loginDoctorCommand(io: CliIo, setExitCode: (code: ExitCode) => void): Command {
  return new Command('doctor')
    .description(
      'check, before anyone signs in, whether the loopback sign-in would work on this machine: the listener, proxies, the browser, and the server and client registration',
    )
    .option(
      '--issuer <url>',
      'also check this authorization server (discovery, RFC 9207, PKCE, device grant)',
    )
    .option(
      '--client-id <id>',
      "with --issuer: check that this client's registration accepts the loopback redirect URI login would use",
    )
    .addOption(
      new Option('--host <host>', 'the loopback host login would use (its --host)')
        .choices(['127.0.0.1', 'localhost', '[::1]'])
        .default('127.0.0.1'),
    )
    .option('--port <port>', 'the fixed port login would use (its --port); default any free port')
    .option(
      '--allow-http-loopback',
      'allow a plain-http issuer on a loopback host (local development)',
    )
    .option(
      '--browser-test',
      'open the browser on a local test page and measure whether and how fast it comes back (asked on a terminal otherwise)',
    )
    .option('--no-browser-test', 'do not open the browser, and do not ask')
    .option(
      '--no-open',
      'for the browser test: print the test page URL to open in any browser here, instead of opening the default one',
    )
    .option('--browser-timeout <seconds>', 'how long the browser round trip may take', '60')
    .option('--json', 'the report as JSON')
    .action(async (options: DoctorCliOptions, command: Command) => {
      // `gatehouse login --issuer X doctor` gives --issuer to login, not to the doctor (options
      // stop at the subcommand's name): refuse it rather than run without the server checks.
      const misplaced = loginOptionsGiven(command.parent);
      if (misplaced.length > 0)
        throw new UsageError(
          `${misplaced.join(', ')} before "doctor" belong${misplaced.length === 1 ? 's' : ''} to login; put ${misplaced.length === 1 ? 'it' : 'them'} after it: gatehouse login doctor ${misplaced[0]} ...`,
        );
      if (!/^\d{1,4}$/.test(options.browserTimeout) || Number(options.browserTimeout) < 1)
        throw new UsageError('--browser-timeout must be a number of seconds');
      if (
        options.port !== undefined &&
        (!/^\d{1,5}$/.test(options.port) ||
          Number(options.port) < 1 ||
          Number(options.port) > 65535)
      )
        throw new UsageError('--port must be a number from 1 to 65535');
      if (options.clientId !== undefined && options.issuer === undefined)
        throw new UsageError(
          '--client-id needs --issuer: the registration is checked at that server',
        );
      if (options.issuer !== undefined && !URL.canParse(options.issuer))
        throw new UsageError(
          `--issuer must be a URL such as https://auth.example.com, not "${printable(options.issuer.slice(0, 200))}"`,
        );
      const browserTest = options.browserTest ?? (await askConsent(io, options.json === true));
      const doctorOptions: DoctorOptions = {
        host: options.host,
        env: io.env,
        browserTest,
        browserTimeoutMs: Number(options.browserTimeout) * 1000,
        ...(options.port === undefined ? {} : { port: Number(options.port) }),
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
        ...(options.allowHttpLoopback === true ? { allowHttpLoopbackIssuer: true } : {}),
        ...(options.open
          ? {}
          : {
              openBrowser: (url: string) => {
                io.stderr.write(
                  `Open this URL in the browser you sign in with, on this machine:\n\n  ${url}\n\nWaiting for it to come back...\n`,
                );
                return Promise.resolve(true);
              },
            }),
      };
      // Server calls honour HTTPS_PROXY / NO_PROXY as login's do, so the answer is login's.
      const restore = useProxyFromEnvironment(io.env);
      let report;
      try {
        report = await runDoctor(doctorOptions);
      } finally {
        restore();
      }
      io.stdout.write(
        options.json === true
          ? `${terminalJson(report)}\n`
          : formatDoctorReport(report, 'gatehouse login'),
      );
      if (!report.verdict.loopbackWorks) setExitCode(ExitCode.Failed);
    });
}

/** The browser opens only with consent: asked on a terminal, never in a pipe or for --json. */
async function askConsent(io: CliIo, json: boolean): Promise<boolean> {
  if (json || io.stdout.isTTY !== true) return false;
  const answer = await io.readLine(
    'Open your browser on a local test page to check that it comes back here? [y/N] ',
  );
  return /^\s*y(es)?\s*$/i.test(answer);
}

/** The options given to `login` itself on the command line (not defaults), as typed flags. */
function loginOptionsGiven(login: Command | null): string[] {
  if (login === null) return [];
  return login.options
    .filter((option) => login.getOptionValueSource(option.attributeName()) === 'cli')
    .map((option) => option.long ?? option.flags);
}
