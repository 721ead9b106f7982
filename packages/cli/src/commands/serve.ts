import { ConfigError, resolveServerConfig, startServer, redactUrl } from '@gatehouse/server';
import { Command } from 'commander';
import type { CliIo } from '../io.js';
import {
  dataOptionsHint,
  databaseInput,
  withDataOptions,
  type DataOptions,
} from './data-options.js';

interface ServeOptions extends DataOptions {
  port?: string;
  host?: string;
  baseUrl?: string;
  trustProxy?: string;
  auditExport?: string;
  auditCheckpointInterval?: string;
  auditRetention?: string;
  auditArchive?: string;
  metricsPort?: string;
  metricsHost?: string;
}

/** `gatehouse serve`: runs the server until SIGINT or SIGTERM. */
export function serveCommand(io: CliIo, waitForStop: () => Promise<void>): Command {
  return withDataOptions(
    new Command('serve')
      .description('run the authorization server (SQLite in ./.gatehouse by default)')
      .option('--port <port>', 'port to listen on', '4000')
      .option('--host <host>', 'interface to listen on', '127.0.0.1')
      .option('--base-url <url>', 'public URL of the server (https, or http on a loopback host)')
      .option(
        '--trust-proxy <proxies>',
        'believe X-Forwarded-For from these proxies: a hop count, or a comma-separated list of addresses/CIDRs (or GATEHOUSE_TRUST_PROXY; default: none)',
      )
      .option(
        '--audit-export <file|->',
        'stream every audit entry and signed checkpoints as JSON lines to a file, or - for standard output (the banner then goes to standard error)',
      )
      .option(
        '--audit-checkpoint-interval <seconds>',
        "seconds between the export's signed checkpoints (default 60)",
      )
      .option(
        '--audit-retention <days>',
        'archive and then remove audit entries older than this many days, during housekeeping (needs --audit-archive; default: keep forever)',
      )
      .option(
        '--audit-archive <dir>',
        'where --audit-retention writes each archive (JSON lines and a signed checkpoint) before removing its entries',
      )
      .option(
        '--metrics-port <port>',
        'serve Prometheus metrics at http://<metrics-host>:<port>/metrics, a listener apart from --port (or GATEHOUSE_METRICS_PORT; default: off)',
      )
      .option(
        '--metrics-host <host>',
        'interface for the metrics listener (or GATEHOUSE_METRICS_HOST; default 127.0.0.1)',
      ),
  ).action(async (options: ServeOptions) => {
    // Off unless asked for: believed from anyone, the header would let a client pick its address.
    const trustProxy = options.trustProxy ?? io.env.GATEHOUSE_TRUST_PROXY;
    const metricsPort = options.metricsPort ?? io.env.GATEHOUSE_METRICS_PORT;
    const metricsHost = options.metricsHost ?? io.env.GATEHOUSE_METRICS_HOST;
    const config = resolveServerConfig(
      {
        ...(trustProxy === undefined ? {} : { trustProxy }),
        ...databaseInput(options, io),
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.host === undefined ? {} : { host: options.host }),
        ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
        ...(options.auditExport === undefined ? {} : { auditExport: options.auditExport }),
        ...(options.auditCheckpointInterval === undefined
          ? {}
          : { auditCheckpointInterval: options.auditCheckpointInterval }),
        ...(options.auditRetention === undefined ? {} : { auditRetention: options.auditRetention }),
        ...(options.auditArchive === undefined ? {} : { auditArchive: options.auditArchive }),
        ...(metricsPort === undefined ? {} : { metricsPort }),
        ...(metricsHost === undefined ? {} : { metricsHost }),
      },
      io.cwd,
    );
    // With the export on standard output, the banner must not mix with its JSON lines.
    const say = config.auditExport?.to === '-' ? io.stderr : io.stdout;
    let server;
    try {
      // Request logs are on (GATEHOUSE_LOG_LEVEL, default info; `silent` turns them off), one
      // JSON line per request on the banner's stream.
      server = await startServer(config, { logStream: say });
    } catch (error) {
      const message = error instanceof Error ? error.message : 'unknown error';
      if (/EADDRINUSE/.test(message))
        throw new ConfigError(
          `port ${config.port} on ${config.host} is in use; choose another with --port`,
        );
      throw new ConfigError(`cannot start: ${message}`);
    }
    const where =
      config.database.kind === 'sqlite'
        ? `SQLite in ${config.database.dataDir}`
        : `PostgreSQL at ${redactUrl(config.database.url)}`;
    const environments = await server.stores.environments.list();
    const address = server.app.server.address();
    const bound =
      typeof address === 'object' && address !== null
        ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
        : server.url;
    // Behind a load balancer the public URL differs from the socket: say both.
    const lines = [
      bound === server.url
        ? `Gatehouse is listening on ${server.url} (${where})`
        : `Gatehouse is listening on ${bound} as ${server.url} (${where})`,
      '',
      'Issuers:',
    ];
    for (const e of environments) lines.push(`  ${e.name.padEnd(12)} ${server.url}/e/${e.name}`);
    if (server.demo !== undefined) {
      lines.push(
        '',
        'First start: a demo client and user were created in development. The password is shown only now:',
        `  client_id     ${server.demo.clientId}  (native; redirect ${server.demo.redirectUri}, any port)`,
        `  user          ${server.demo.email}`,
        `  password      ${server.demo.password}`,
        '',
        `Try it: npx gatehouse login --issuer ${server.url}/e/development --client-id ${server.demo.clientId} --allow-http-loopback`,
      );
    }
    const operators = await server.stores.operators.list();
    lines.push(
      '',
      `Admin console: ${server.url}/admin`,
      ...(operators.length === 0
        ? [
            '  no operator yet: create one with',
            // On the data this server uses, wherever the command is run from.
            `  npx gatehouse operators create --email you@example.com --role admin ${dataOptionsHint(config.database)}`,
            ...(config.database.kind === 'postgres'
              ? [
                  `  (with GATEHOUSE_SECRET_KEY set as for serve${redactUrl(config.database.url) === config.database.url ? '' : ', and the password in place of ***'})`,
                ]
              : []),
          ]
        : []),
    );
    lines.push(
      '',
      `Log in with any OAuth 2.1 / OpenID Connect client: discovery at ${server.url}/e/development/.well-known/openid-configuration`,
      `Probes: ${server.url}/healthz, ${server.url}/readyz${server.metricsUrl === undefined ? '' : `; metrics: ${server.metricsUrl}`}`,
      'Stop with Ctrl-C.',
      '',
    );
    say.write(lines.join('\n'));
    await waitForStop();
    say.write('Stopping...\n');
    await server.close();
  });
}
