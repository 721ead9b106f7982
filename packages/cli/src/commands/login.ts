import {
  authorizationHeaders,
  browserAvailable,
  credential,
  heldScope,
  profileDpopKey,
  configDir,
  deviceLogin,
  supportsDeviceFlow,
  FileTokenStore,
  LoginError,
  logout,
  loopbackLogin,
  openTokenStore,
  PROFILE_NAME,
  pasteLogin,
  useProxyFromEnvironment,
  validAccessToken,
  type LoginOptions,
  type LoopbackHost,
  type LogoutResult,
  type StoredTokens,
  type TokenStore,
} from '@gatehouse/login';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { printable } from '../output/text.js';
import { terminalJson } from '../output/terminal-json.js';
import { loginDoctorCommand } from './login-doctor.js';

/** Server calls honour HTTPS_PROXY / HTTP_PROXY / NO_PROXY for the length of one command. */
async function withProxy<T>(io: CliIo, work: () => Promise<T>): Promise<T> {
  const restore = useProxyFromEnvironment(io.env);
  try {
    return await work();
  } finally {
    restore();
  }
}

interface ProfileOption {
  profile: string;
}

function profileOption(): Option {
  return new Option('--profile <name>', 'which login to use; several can be logged in at once')
    .default('default')
    .argParser((value: string) => {
      if (!PROFILE_NAME.test(value))
        throw new InvalidArgumentError('use letters, digits, ., _ and - (at most 64)');
      return value;
    });
}

/** Where the file store warns once, when it first creates the file. */
async function storeFor(io: CliIo): Promise<{ store: TokenStore; warnIfNew: () => Promise<void> }> {
  const store = await openTokenStore(io.env);
  if (store instanceof FileTokenStore) {
    const existed = await store.exists();
    return {
      store,
      warnIfNew: async () => {
        if (!existed && (await store.exists())) {
          io.stderr.write(
            `warning: no OS keyring is available, so tokens are stored unencrypted in ${configDir(io.env)}/tokens.json (readable by your user only)\n`,
          );
        }
      },
    };
  }
  return { store, warnIfNew: () => Promise.resolve() };
}

interface TokenCliOptions extends ProfileOption {
  url?: string;
  method: string;
  nonce?: string;
  headers?: boolean;
}

interface LoginCliOptions extends ProfileOption {
  issuer: string;
  clientId: string;
  scope?: string;
  resource?: string;
  port?: string;
  host: LoopbackHost;
  device?: boolean;
  browser: boolean;
  open: boolean;
  allowHttpLoopback?: boolean;
  par?: boolean;
  accumulate: boolean;
  timeout: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * The library's errors say what went wrong for any caller; here they also name the option that
 * fixes it, as the rest of the CLI does.
 */
function explainLoginError(error: LoginError, options: LoginCliOptions): LoginError {
  let issuer: URL | undefined;
  try {
    issuer = new URL(options.issuer);
  } catch {
    issuer = undefined;
  }
  if (error.code === 'insecure_issuer' && issuer !== undefined) {
    const message = LOOPBACK_HOSTS.has(issuer.hostname)
      ? `the issuer ${issuer.href} uses plain http: add --allow-http-loopback to allow that on a loopback host (local development only)`
      : `the issuer ${issuer.href} must use https; --allow-http-loopback allows plain http only on a loopback host (127.0.0.1, [::1], localhost)`;
    return new LoginError(message, error.code);
  }
  if (
    error.code === 'discovery_failed' &&
    issuer !== undefined &&
    !/\/e\/[^/]+\/?$/.test(issuer.pathname)
  ) {
    // A Gatehouse server has one issuer per environment, under /e/<environment>.
    const root = issuer.href.replace(/\/+$/, '');
    return new LoginError(
      `${error.message}; if this is a Gatehouse server, the issuer is one environment's: --issuer ${root}/e/<environment>, such as ${root}/e/development`,
      error.code,
    );
  }
  // A client can be required to push (RFC 9126 §6) where its server's metadata cannot say so.
  if (error.code === 'invalid_request' && options.par !== true && /pushed/i.test(error.message))
    return new LoginError(`${error.message}; run the command again with --par`, error.code);
  if (error.code === 'authorization_refused')
    return new LoginError(
      `${error.message}; check --client-id (a native client of this issuer's environment) and --issuer`,
      error.code,
    );
  return error;
}

function describe(tokens: StoredTokens): string {
  const who = tokens.email ?? tokens.subject ?? 'an account';
  return `${printable(who)} at ${printable(tokens.issuer)}`;
}

/** What became of the tokens at the server, in words: each reason is a different fact. */
function logoutOutcome(result: LogoutResult): string {
  if (result.revoked) return 'the tokens are revoked at the server';
  switch (result.notRevoked) {
    case 'not_offered':
      return 'the server offers no token revocation (its metadata has no revocation_endpoint), so the tokens were removed here only and stay valid at the server until they expire';
    case 'refused':
      return `the server refused to revoke the tokens (${printable((result.error ?? 'error').slice(0, 100))}), so they were removed here only and may stay valid at the server until they expire`;
    default:
      return 'the server could not be reached to revoke the tokens, so they were removed here only and may stay valid at the server until they expire';
  }
}

export function loginCommands(io: CliIo, setExitCode: (code: ExitCode) => void): Command[] {
  const login = new Command('login')
    .description(
      'sign in through the browser (RFC 8252 loopback flow), or by pasting the final URL where no browser can reach this machine',
    )
    // Required, but checked in the action: commander would ask for them before `login doctor`
    // too, which has its own.
    .option('--issuer <url>', 'the authorization server (issuer URL; required)')
    .option(
      '--client-id <id>',
      "this application's client_id, registered as a native client (required)",
    )
    .option(
      '--scope <scopes>',
      'space-separated scopes (default: openid email offline_access); added to those the profile already holds at this issuer and client',
    )
    .option(
      '--no-accumulate',
      'ask for --scope alone, not together with the scopes the profile already holds',
    )
    .option('--resource <uri>', 'RFC 8707 resource the token is for')
    .option(
      '--port <port>',
      'fixed loopback port, for servers that need one (default: any free port)',
    )
    .addOption(
      new Option('--host <host>', 'loopback host in the redirect URI')
        .choices(['127.0.0.1', 'localhost', '[::1]'])
        .default('127.0.0.1'),
    )
    .option(
      '--device',
      'use the device authorization grant (RFC 8628): approve on any other device',
    )
    .option(
      '--no-browser',
      'paste mode: open the URL on any device, then paste the final address back here',
    )
    .option('--no-open', 'keep the loopback flow but only print the URL')
    .option(
      '--allow-http-loopback',
      'allow a plain-http issuer on a loopback host (local development)',
    )
    .option(
      '--par',
      'push the authorization request first (RFC 9126), even where the server does not require it',
    )
    .option('--timeout <seconds>', 'how long to wait for the browser', '300')
    .addOption(profileOption())
    .action((options: LoginCliOptions) => {
      for (const [flag, value] of [
        ['--issuer <url>', options.issuer],
        ['--client-id <id>', options.clientId],
      ] as const)
        if ((value as string | undefined) === undefined)
          throw new UsageError(`required option '${flag}' not specified`);
      return withProxy(io, () => loginAction(options)).catch((error: unknown) => {
        throw error instanceof LoginError ? explainLoginError(error, options) : error;
      });
    });

  async function loginAction(options: LoginCliOptions): Promise<void> {
    if (!/^\d{1,5}$/.test(options.timeout) || Number(options.timeout) < 1)
      throw new UsageError('--timeout must be a number of seconds');
    if (
      options.port !== undefined &&
      (!/^\d{1,5}$/.test(options.port) || Number(options.port) > 65535)
    )
      throw new UsageError('--port must be a number from 1 to 65535');
    let issuerUrl: URL;
    try {
      issuerUrl = new URL(options.issuer);
    } catch {
      throw new UsageError(
        `--issuer must be a URL such as https://auth.example.com, not "${printable(options.issuer)}"`,
      );
    }
    const { store, warnIfNew } = await storeFor(io);
    // One DPoP key per profile, made at its first sign-in and kept with its tokens (RFC 9449):
    // used where the server takes DPoP, so the tokens work only with this key.
    const dpopKey = await profileDpopKey(store, options.profile);
    // Step-up: a new sign-in asks again for what the profile holds, plus what --scope adds.
    const held = options.accumulate
      ? await heldScope(store, options.profile, issuerUrl, options.clientId)
      : undefined;
    const controller = new AbortController();
    const onInterrupt = () => {
      controller.abort();
    };
    process.once('SIGINT', onInterrupt);
    const base: LoginOptions = {
      issuer: issuerUrl,
      clientId: options.clientId,
      host: options.host,
      timeoutMs: Number(options.timeout) * 1000,
      signal: controller.signal,
      ...(options.scope === undefined ? {} : { scope: options.scope }),
      ...(options.resource === undefined ? {} : { resource: options.resource }),
      ...(options.port === undefined ? {} : { port: Number(options.port) }),
      ...(options.allowHttpLoopback === true ? { allowHttpLoopbackIssuer: true } : {}),
      ...(options.par === true ? { pushAuthorizationRequest: true } : {}),
      ...(dpopKey === undefined ? {} : { dpopKey }),
      ...(held === undefined ? {} : { heldScope: held }),
    };
    // No browser here: the device flow where the server offers it, else paste mode. --no-browser
    // asks for paste mode, --device for the device flow.
    const noBrowserHere = options.open && !browserAvailable(io.env);
    const device =
      options.device === true ||
      (options.browser && noBrowserHere && (await supportsDeviceFlow(issuerUrl, base)));
    const pasteMode = !device && (!options.browser || noBrowserHere);
    try {
      let tokens: StoredTokens;
      if (device) {
        tokens = await deviceLogin({
          ...base,
          onUserCode: (code) =>
            io.stderr.write(
              `To sign in, open ${printable(code.verificationUri)} on any device and enter the code\n\n  ${printable(code.userCode)}\n\n${code.verificationUriComplete === undefined ? '' : `(or open ${printable(code.verificationUriComplete)})\n`}Waiting for approval (Ctrl-C to cancel)...\n`,
            ),
        });
      } else if (pasteMode) {
        const redirectUri = `http://${options.host}${options.port === undefined ? '' : `:${options.port}`}/callback`;
        io.stderr.write(
          'Paste mode: open the URL below on any device, sign in, then paste the address the browser ends on.\n',
        );
        tokens = await pasteLogin({
          ...base,
          redirectUri,
          onAuthorizationUrl: (url) => io.stderr.write(`\n  ${url}\n\n`),
          readPastedUrl: () => io.readLine('Paste the final address: '),
        });
      } else {
        tokens = await loopbackLogin({
          ...base,
          openBrowser: options.open,
          onAuthorizationUrl: (url) =>
            io.stderr.write(
              `${options.open ? 'Opening your browser. If it does not open, visit' : 'Open this URL in your browser'}:\n\n  ${url}\n\nWaiting for the sign-in (Ctrl-C to cancel)...\n`,
            ),
        });
      }
      await store.set(options.profile, tokens);
      await warnIfNew();
      io.stdout.write(
        `Logged in as ${describe(tokens)} (profile ${printable(options.profile)}).\n`,
      );
    } finally {
      process.off('SIGINT', onInterrupt);
    }
  }

  const whoami = new Command('whoami')
    .description('who is logged in, at which issuer, and when the access token expires')
    .addOption(profileOption())
    .option('--json', 'JSON output')
    .action(async (options: ProfileOption & { json?: boolean }) => {
      const { store } = await storeFor(io);
      const tokens = await store.get(options.profile);
      if (tokens === undefined) {
        setExitCode(ExitCode.Failed);
        io.stderr.write(
          `gatehouse: error: not logged in (profile ${printable(options.profile)}); run gatehouse login\n`,
        );
        return;
      }
      const expiresIn = Math.round((tokens.expiresAt - Date.now()) / 1000);
      if (options.json === true) {
        io.stdout.write(
          `${terminalJson({ profile: options.profile, issuer: tokens.issuer, client_id: tokens.clientId, subject: tokens.subject ?? null, email: tokens.email ?? null, expires_at: new Date(tokens.expiresAt).toISOString(), scope: tokens.scope ?? null, dpop_bound: tokens.dpopJkt !== undefined })}\n`,
        );
        return;
      }
      io.stdout.write(
        `${describe(tokens)} (profile ${printable(options.profile)}); access token ${expiresIn > 0 ? `expires in ${Math.ceil(expiresIn / 60)} min` : 'expired'}${tokens.refreshToken === undefined ? '' : ', refreshable'}${tokens.dpopJkt === undefined ? '' : ', bound to this device (DPoP)'}\n`,
      );
    });

  const token = new Command('token')
    .description(
      'print a valid access token for scripts, refreshed if needed (GATEHOUSE_TOKEN overrides, for CI); with --url, the headers for one API call (a DPoP-bound token needs a proof per request)',
    )
    .addOption(profileOption())
    .option(
      '--url <url>',
      'print the Authorization (and DPoP proof) header lines for one request to this URL, for curl -H @-',
    )
    .option('--method <method>', 'the method of that request (the proof names it)', 'GET')
    .option('--nonce <nonce>', 'a nonce the API asked for (its DPoP-Nonce response header)')
    .option(
      '--headers',
      'print header lines instead of the bare token (--url is needed for a DPoP-bound token)',
    )
    .action((options: TokenCliOptions) => withProxy(io, () => tokenAction(options)));

  async function tokenAction(options: TokenCliOptions): Promise<void> {
    const headers = options.headers === true || options.url !== undefined;
    if (options.url !== undefined && !/^https?:\/\/[^/]/i.test(options.url))
      throw new UsageError(
        `--url must be an http(s) URL, not "${printable(options.url.slice(0, 200))}"`,
      );
    if (!/^[A-Za-z]{1,20}$/.test(options.method))
      throw new UsageError('--method must be an HTTP method such as GET or POST');
    if (options.nonce !== undefined && !/^[\x21-\x7e]{1,1024}$/.test(options.nonce))
      throw new UsageError('--nonce must be the DPoP-Nonce value the API sent');
    const fromEnv = io.env.GATEHOUSE_TOKEN;
    if (fromEnv !== undefined && fromEnv !== '') {
      io.stdout.write(headers ? `Authorization: Bearer ${credential(fromEnv)}\n` : `${fromEnv}\n`);
      return;
    }
    const { store } = await storeFor(io);
    const lockDir = configDir(io.env);
    if (!headers) {
      const tokens = await validAccessToken(store, options.profile, { lockDir });
      // Scripts put it on a header line themselves (curl -H "Authorization: Bearer $(…)").
      io.stdout.write(`${credential(tokens.accessToken)}\n`);
      // The bare token still prints (scripts that read its claims keep working), but an API that
      // checks DPoP refuses it without a proof (RFC 9449 §7.2): say what to use instead.
      if (tokens.dpopJkt !== undefined)
        io.stderr.write(
          'note: this token is bound to this device (DPoP): an API needs a proof with each request; use gatehouse token --url URL [--method M] | curl -H @- URL\n',
        );
      return;
    }
    if (options.url === undefined) {
      const tokens = await validAccessToken(store, options.profile, { lockDir });
      if (tokens.dpopJkt !== undefined)
        throw new UsageError(
          "this profile's token is bound to this device (DPoP): a proof names the request, so give --url (and --method unless GET)",
        );
      io.stdout.write(`Authorization: Bearer ${credential(tokens.accessToken)}\n`);
      return;
    }
    const lines = await authorizationHeaders(
      store,
      options.profile,
      {
        method: options.method.toUpperCase(),
        url: options.url,
        ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
      },
      { lockDir },
    );
    io.stdout.write(
      `Authorization: ${lines.authorization}\n${lines.dpop === undefined ? '' : `DPoP: ${lines.dpop}\n`}`,
    );
  }

  const logoutCommand = new Command('logout')
    .description('revoke the tokens at the server and forget them here')
    .addOption(profileOption())
    .action((options: ProfileOption) =>
      withProxy(io, async () => {
        const { store } = await storeFor(io);
        const result = await logout(store, options.profile);
        if (!result.known) {
          io.stdout.write(`not logged in (profile ${printable(options.profile)})\n`);
          return;
        }
        io.stdout.write(
          `Logged out (profile ${printable(options.profile)}); ${logoutOutcome(result)}.\n`,
        );
        // A revocation the server offers but that did not happen is a failure a script must see
        // (the tokens may still work there); a server that offers none leaves nothing undone.
        if (!result.revoked && result.notRevoked !== 'not_offered') setExitCode(ExitCode.Failed);
      }),
    );

  // `login doctor`: login's own options stop at the subcommand's name, so the doctor's --issuer,
  // --host and --port are its own and login's required options are not asked for.
  login.enablePositionalOptions().addCommand(loginDoctorCommand(io, setExitCode));

  return [login, whoami, token, logoutCommand];
}

export { LoginError };
