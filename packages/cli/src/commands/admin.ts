import {
  GRANT_TYPES,
  InputError,
  LOOPBACK_HOSTS,
  accountForJti,
  addRedirectUri,
  latestCheckpoint,
  pruneAudit,
  clientView,
  planPromotion,
  promoteClient,
  createClient,
  createEnvironment,
  createUser,
  deleteClient,
  deleteUser,
  listConsents,
  requireClient,
  revokeConsent,
  requireEnvironment,
  requireUser,
  rotateClientSecret,
  setUserDisabled,
  setUserEmailVerified,
  importUsers,
  parseUserImport,
  updateClient,
  updateEnvironmentSettings,
  loopbackViolations,
  type AuditEntry,
  type AuditVerification,
  type LoopbackHost,
  type LoopbackViolation,
  type Checkpoint,
  type TokenAccount,
  type Client,
  type ClientType,
  type GrantType,
  type Tier,
  type User,
} from '@gatehouse/server';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { printable } from '../output/text.js';
import {
  settingsFromOptions,
  settingsJson,
  settingsLines,
  withSettingsOptions,
  type SettingsOptions,
} from './client-settings-options.js';
import {
  collect,
  withDataOptions,
  withStores,
  writeJson,
  type DataOptions,
  envOption,
  say,
  type JsonOption,
} from './data-options.js';

/**
 * The documented `--json` shape of a client (README), derived from the server's one serialisation
 * of a client, the admin API's `clientView`. The two differ on purpose, and this one stays as it
 * is because scripts parse it: keys in snake_case like the OAuth wire format, ISO 8601 times
 * instead of milliseconds, redirect URIs as a plain list with their expiries in a map beside it,
 * and no `hasSecret` (never part of it; the secret itself appears only where it is issued).
 */
function clientJson(client: Client): Record<string, unknown> {
  const view = clientView(client);
  return {
    client_id: view.clientId,
    environment: view.environment,
    name: view.name,
    type: view.type,
    redirect_uris: view.redirectUris.map(({ uri }) => uri),
    redirect_uri_expiries: Object.fromEntries(
      view.redirectUris.flatMap(({ uri, expiresAt }) =>
        expiresAt === null ? [] : [[uri, new Date(expiresAt).toISOString()]],
      ),
    ),
    grant_types: view.grantTypes,
    skip_consent: view.skipConsent,
    managed_by: view.managedBy,
    promoted_from: view.promotedFrom,
    kind: view.kind,
    exchange_audiences: view.exchangeAudiences,
    allowed_resources: view.allowedResources,
    scopes: view.scopes,
    ...settingsJson(client),
    created_at: new Date(view.createdAt).toISOString(),
    updated_at: new Date(view.updatedAt).toISOString(),
  };
}

function userJson(user: User): Record<string, unknown> {
  return {
    id: user.id,
    environment: user.environment,
    email: user.email,
    name: user.name,
    disabled: user.disabled,
    email_verified: user.emailVerified === true,
    has_password: user.passwordHash !== null,
    created_at: new Date(user.createdAt).toISOString(),
  };
}

function clientLines(client: Client): string[] {
  return [
    `client_id     ${client.clientId}`,
    `name          ${printable(client.name)}`,
    `environment   ${client.environment}`,
    `type          ${client.type}`,
    `grants        ${client.grantTypes.join(', ')}`,
    `skip consent  ${client.skipConsent ? 'yes' : 'no'}`,
    ...(client.scopes.length === 0 ? [] : [`scopes        ${printable(client.scopes.join(' '))}`]),
    ...client.redirectUris.map((uri, i) => {
      const expiresAt = client.redirectUriExpiries[uri];
      return `${i === 0 ? 'redirect URIs' : '             '} ${printable(uri)}${expiresAt === undefined ? '' : `  (expires ${new Date(expiresAt).toISOString()})`}`;
    }),
    ...(client.managedBy === null ? [] : [`managed by    file key ${printable(client.managedBy)}`]),
    ...(client.promotedFrom === null ? [] : [`promoted from ${printable(client.promotedFrom)}`]),
    ...(client.exchangeAudiences === null
      ? []
      : client.exchangeAudiences.map(
          (uri, i) => `${i === 0 ? 'exchange for ' : '             '} ${printable(uri)}`,
        )),
    ...(client.allowedResources === null
      ? []
      : client.allowedResources.length === 0
        ? ['resources     none']
        : client.allowedResources.map(
            (uri, i) => `${i === 0 ? 'resources    ' : '             '} ${printable(uri)}`,
          )),
    ...settingsLines(client),
  ];
}

/** A list option and its "none"/"any" switch: the list replaces, the switch clears to null. */
function listSetting(
  list: string[] | undefined,
  clear: boolean,
  listFlag: string,
  clearFlag: string,
): readonly string[] | null | undefined {
  if (list !== undefined && clear)
    throw new UsageError(`use ${listFlag} or ${clearFlag}, not both`);
  return clear ? null : list;
}

export function envCommand(io: CliIo): Command {
  const env = new Command('env').description(
    'list, create and configure environments (each is its own issuer)',
  );
  env.addCommand(
    withDataOptions(
      new Command('list').description('list environments').option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption) =>
      withStores(options, io, async (ctx) => {
        const all = await ctx.stores.environments.list();
        if (options.json === true) {
          writeJson(
            io,
            all.map((e) => ({
              name: e.name,
              tier: e.tier,
              created_at: new Date(e.createdAt).toISOString(),
            })),
          );
          return;
        }
        say(
          io,
          all.map((e) => `${e.name.padEnd(16)} ${e.tier}`),
        );
      }),
    ),
  );
  env.addCommand(
    withDataOptions(
      new Command('create')
        .description('create an environment with its own signing key')
        .argument('<name>', 'lower-case letters, digits and dashes')
        .addOption(
          new Option('--like <tier>', 'whose rules it follows')
            .choices(['production', 'staging', 'development'])
            .default('production'),
        )
        .option('--json', 'JSON output'),
    ).action((name: string, options: DataOptions & JsonOption & { like: Tier }) =>
      withStores(options, io, async (ctx) => {
        const created = await createEnvironment(ctx, name, options.like);
        if (options.json === true) {
          writeJson(io, { name: created.name, tier: created.tier });
          return;
        }
        say(io, [`created environment ${created.name} (${created.tier} rules)`]);
      }),
    ),
  );
  env.addCommand(
    withDataOptions(
      new Command('settings')
        .description(
          "show an environment's settings; --require-par makes every client push its authorization requests (RFC 9126), --require-dpop makes every token request carry a DPoP proof (RFC 9449), --refresh-grace sets the refresh grace window, --loopback-hosts the loopback hosts redirect URIs may name",
        )
        .argument('<name>')
        .option('--require-par', 'every client must use pushed authorization requests')
        .option('--no-require-par', 'each client decides (its own require-par setting)')
        .option(
          '--require-dpop',
          'every token request must carry a DPoP proof, binding tokens to a key (RFC 9449)',
        )
        .option('--no-require-dpop', 'each client decides (its own require-dpop setting)')
        .option(
          '--refresh-grace <seconds>',
          'seconds in which a just-rotated refresh token, presented again by its client, gets a successor instead of revoking its grant (0 to 60; 0 turns it off)',
        )
        .option(
          '--loopback-hosts <hosts>',
          'the loopback hosts redirect URIs may name, comma-separated from 127.0.0.1, [::1], localhost (127.0.0.1,[::1] refuses localhost, RFC 8252 §8.3); default: all three. Registrations it refuses are listed and stop matching at once',
        )
        .option('--json', 'JSON output'),
    ).action(
      (
        name: string,
        options: DataOptions &
          JsonOption & {
            requirePar?: boolean;
            requireDpop?: boolean;
            refreshGrace?: string;
            loopbackHosts?: string;
          },
      ) =>
        withStores(options, io, async (ctx) => {
          const settings = {
            ...(options.requirePar === undefined ? {} : { requirePar: options.requirePar }),
            ...(options.requireDpop === undefined ? {} : { requireDpop: options.requireDpop }),
            // Anything but digits is passed on as not a number: the service refuses it with the
            // one message every entry point gives.
            ...(options.refreshGrace === undefined
              ? {}
              : {
                  refreshGraceSeconds: /^\d{1,6}$/.test(options.refreshGrace.trim())
                    ? Number(options.refreshGrace.trim())
                    : Number.NaN,
                }),
            // The service checks the hosts, with the one message every entry point gives.
            ...(options.loopbackHosts === undefined
              ? {}
              : { loopbackHosts: loopbackHostList(options.loopbackHosts) }),
          };
          const e =
            Object.keys(settings).length === 0
              ? await requireEnvironment(ctx, name)
              : await updateEnvironmentSettings(ctx, name, settings);
          // A new loopback policy applies at once: registrations it refuses no longer match.
          const violations =
            options.loopbackHosts === undefined ? undefined : await loopbackViolations(ctx, e);
          if (options.json === true) {
            writeJson(io, {
              name: e.name,
              tier: e.tier,
              registration: e.registration,
              metadata_documents: e.metadataDocuments,
              allow_loopback_documents: e.allowLoopbackDocuments,
              impersonation_enabled: e.impersonationEnabled,
              require_pushed_authorization_requests: e.requirePar,
              require_dpop: e.requireDpop,
              refresh_grace_seconds: e.refreshGraceSeconds,
              loopback_hosts: e.loopbackHosts,
              ...(violations === undefined
                ? {}
                : {
                    loopback_violations: violations.map((v) => ({
                      client_id: v.clientId,
                      client_name: v.clientName,
                      kind: v.kind,
                      uri: v.uri,
                      message: v.message,
                      ...(v.suggestion === undefined ? {} : { suggestion: v.suggestion }),
                    })),
                  }),
            });
            return;
          }
          say(io, [
            `environment         ${e.name} (${e.tier} rules)`,
            `registration        ${e.registration}`,
            `metadata documents  ${e.metadataDocuments ? 'accepted' : 'refused'}`,
            `impersonation       ${e.impersonationEnabled ? 'enabled' : 'disabled'}`,
            `require PAR         ${e.requirePar ? 'yes, for every client' : 'no (per client)'}`,
            `require DPoP        ${e.requireDpop ? 'yes, for every client' : 'no (per client)'}`,
            `refresh grace       ${e.refreshGraceSeconds === 0 ? 'off' : `${e.refreshGraceSeconds} s`}`,
            `loopback hosts      ${loopbackHostsText(e.loopbackHosts)}`,
            ...(violations === undefined ? [] : violationLines(violations)),
          ]);
        }),
    ),
  );
  return env;
}

/** `127.0.0.1,[::1]` as a list; `default` (or `all`): back to all three. */
function loopbackHostList(text: string): LoopbackHost[] | null {
  const trimmed = text.trim();
  if (trimmed === 'default' || trimmed === 'all') return null;
  // Unchecked here: the service refuses an unknown host with the message every entry point gives.
  return trimmed === '' ? [] : (trimmed.split(',').map((host) => host.trim()) as LoopbackHost[]);
}

function loopbackHostsText(hosts: readonly string[]): string {
  const refused = LOOPBACK_HOSTS.filter((host) => !hosts.includes(host));
  return refused.length === 0
    ? `${hosts.join(', ')} (all three, the default)`
    : `${hosts.join(', ')} (refused: ${refused.join(', ')})`;
}

/** The registrations a new loopback policy refuses, each with what to register instead. */
function violationLines(violations: readonly LoopbackViolation[]): string[] {
  if (violations.length === 0) return ['no registration uses a refused loopback host'];
  const first = violations[0] as LoopbackViolation;
  return [
    `${violations.length} registration(s) use a loopback host this environment now refuses; they no longer match:`,
    ...violations.map(
      (v) =>
        `  ${v.clientId} (${printable(v.clientName)}) ${v.kind === 'redirect' ? 'redirect' : 'post-logout'} ${printable(v.uri)}${v.suggestion === undefined ? '' : ` -> register ${printable(v.suggestion)}`}`,
    ),
    `why: ${first.message}`,
  ];
}

interface ClientCreateOptions extends DataOptions, JsonOption, SettingsOptions {
  env: string;
  type: ClientType;
  name: string;
  redirectUri?: string[];
  grant?: string[];
  skipConsent?: boolean;
  scope?: string[];
}

export function clientsCommand(io: CliIo): Command {
  const clients = new Command('clients').description('register and manage OAuth clients');
  clients.addCommand(
    withDataOptions(
      withSettingsOptions(
        new Command('create')
          .description(
            'register a client; prints its client_id and, for web clients, its secret once',
          )
          .addOption(envOption())
          .addOption(
            new Option(
              '--type <type>',
              'web (confidential), native (public, an app on a device) or spa (public, a browser app)',
            )
              .choices(['web', 'native', 'spa'])
              .makeOptionMandatory(),
          )
          .requiredOption('--name <name>', 'name shown to users on the consent page')
          .option('--redirect-uri <uri>', 'a redirect URI (repeat for each)', collect)
          .option('--grant <grant>', `a grant type (repeat): ${GRANT_TYPES.join(', ')}`, collect)
          .option('--skip-consent', 'first-party client: users are not asked to consent')
          .option(
            '--scope <scope>',
            'a scope it may be granted without a resource, by client_credentials (repeat)',
            collect,
          )
          .option('--json', 'JSON output'),
        'create',
      ),
    ).action((options: ClientCreateOptions) =>
      withStores(options, io, async (ctx) => {
        const created = await createClient(ctx, {
          environment: options.env,
          type: options.type,
          name: options.name,
          redirectUris: options.redirectUri ?? [],
          ...(options.grant === undefined ? {} : { grantTypes: options.grant as GrantType[] }),
          ...(options.skipConsent === true ? { skipConsent: true } : {}),
          ...(options.scope === undefined ? {} : { scopes: options.scope }),
          ...(await settingsFromOptions(options, io)),
        });
        if (options.json === true) {
          writeJson(io, {
            ...clientJson(created.client),
            ...(created.clientSecret === undefined ? {} : { client_secret: created.clientSecret }),
            warnings: created.warnings.map((w) => ({ code: w.code, message: w.message })),
          });
          return;
        }
        const lines = clientLines(created.client);
        if (created.clientSecret !== undefined)
          lines.push(
            `client_secret ${created.clientSecret}`,
            '',
            'Store the secret now: it is shown only this once.',
          );
        for (const warning of created.warnings)
          lines.push(`warning: ${printable(warning.message)} [${warning.code}]`);
        say(io, lines);
      }),
    ),
  );
  clients.addCommand(
    withDataOptions(
      new Command('list')
        .description('list the clients of an environment')
        .addOption(envOption())
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env: string }) =>
      withStores(options, io, async (ctx) => {
        await requireEnvironment(ctx, options.env);
        const all = await ctx.stores.clients.list(options.env);
        if (options.json === true) {
          writeJson(io, all.map(clientJson));
          return;
        }
        say(
          io,
          all.length === 0
            ? [`no clients in ${options.env}`]
            : all.map((c) => `${c.clientId}  ${c.type.padEnd(6)}  ${printable(c.name)}`),
        );
      }),
    ),
  );
  clients.addCommand(
    withDataOptions(
      new Command('show')
        .description('show one client')
        .argument('<client_id>')
        .addOption(envOption())
        .option('--json', 'JSON output'),
    ).action((clientId: string, options: DataOptions & JsonOption & { env: string }) =>
      withStores(options, io, async (ctx) => {
        const client = await requireClient(ctx, options.env, clientId);
        if (options.json === true) {
          writeJson(io, clientJson(client));
          return;
        }
        say(io, clientLines(client));
      }),
    ),
  );
  clients.addCommand(
    withDataOptions(
      withSettingsOptions(
        new Command('update')
          .description(
            'change a client; redirect URIs are validated by the policy of its environment',
          )
          .argument('<client_id>')
          .addOption(envOption())
          .option('--name <name>', 'new name')
          .option('--add-redirect-uri <uri>', 'add a redirect URI (repeat)', collect)
          .option('--remove-redirect-uri <uri>', 'remove a redirect URI (repeat)', collect)
          .option('--grant <grant>', 'replace the grant types (repeat)', collect)
          .option('--skip-consent', 'mark first-party: no consent page')
          .option('--no-skip-consent', 'ask users for consent again')
          .option(
            '--exchange-audience <uri>',
            'an audience it may obtain by token exchange (repeat; replaces the list)',
            collect,
          )
          .option('--no-exchange-audiences', 'no token exchange for any audience')
          .option(
            '--allowed-resource <uri>',
            'a resource (RFC 8707) it may ask for (repeat; replaces the list)',
            collect,
          )
          .option('--any-resource', 'any resource the environment allows')
          .option(
            '--scope <scope>',
            'a scope it may be granted without a resource, by client_credentials (repeat; replaces the list)',
            collect,
          )
          .option('--no-scopes', 'no scope without a resource')
          .option('--json', 'JSON output'),
        'update',
      ),
    ).action(
      (
        clientId: string,
        options: DataOptions &
          JsonOption &
          SettingsOptions & {
            env: string;
            name?: string;
            addRedirectUri?: string[];
            removeRedirectUri?: string[];
            grant?: string[];
            skipConsent?: boolean;
            exchangeAudience?: string[];
            /** false with --no-exchange-audiences (commander defaults a lone --no- option to true). */
            exchangeAudiences?: boolean;
            allowedResource?: string[];
            anyResource?: boolean;
            scope?: string[];
            /** false with --no-scopes. */
            scopes?: boolean;
          },
      ) =>
        withStores(options, io, async (ctx) => {
          const exchangeAudiences = listSetting(
            options.exchangeAudience,
            options.exchangeAudiences === false,
            '--exchange-audience',
            '--no-exchange-audiences',
          );
          const allowedResources = listSetting(
            options.allowedResource,
            options.anyResource === true,
            '--allowed-resource',
            '--any-resource',
          );
          const scopes = listSetting(
            options.scope,
            options.scopes === false,
            '--scope',
            '--no-scopes',
          );
          const current = await requireClient(ctx, options.env, clientId);
          const settings = await settingsFromOptions(options, io, current);
          const { client, warnings, clientSecret } = await updateClient(
            ctx,
            options.env,
            clientId,
            {
              ...(options.name === undefined ? {} : { name: options.name }),
              ...(options.addRedirectUri === undefined
                ? {}
                : { addRedirectUris: options.addRedirectUri }),
              ...(options.removeRedirectUri === undefined
                ? {}
                : { removeRedirectUris: options.removeRedirectUri }),
              ...(options.grant === undefined ? {} : { grantTypes: options.grant as GrantType[] }),
              ...(options.skipConsent === undefined ? {} : { skipConsent: options.skipConsent }),
              ...(exchangeAudiences === undefined ? {} : { exchangeAudiences }),
              ...(allowedResources === undefined ? {} : { allowedResources }),
              ...(scopes === undefined ? {} : { scopes: scopes ?? [] }),
              ...settings,
            },
          );
          if (options.json === true) {
            writeJson(io, {
              ...clientJson(client),
              ...(clientSecret === undefined ? {} : { client_secret: clientSecret }),
              warnings: warnings.map((w) => ({ code: w.code, message: w.message })),
            });
            return;
          }
          say(io, [
            ...clientLines(client),
            ...(clientSecret === undefined
              ? []
              : [
                  `client_secret ${clientSecret}`,
                  '',
                  'It authenticates with a secret again. Store the secret now: it is shown only this once.',
                ]),
            ...warnings.map((w) => `warning: ${printable(w.message)} [${w.code}]`),
          ]);
        }),
    ),
  );
  clients.addCommand(
    withDataOptions(
      new Command('rotate-secret')
        .description('issue a new secret for a web client; the old one stops working')
        .argument('<client_id>')
        .addOption(envOption())
        .option('--json', 'JSON output'),
    ).action((clientId: string, options: DataOptions & JsonOption & { env: string }) =>
      withStores(options, io, async (ctx) => {
        const { client, clientSecret } = await rotateClientSecret(ctx, options.env, clientId);
        if (options.json === true) {
          writeJson(io, { client_id: client.clientId, client_secret: clientSecret });
          return;
        }
        say(io, [
          `client_id     ${client.clientId}`,
          `client_secret ${clientSecret}`,
          '',
          'Store the secret now: it is shown only this once. The previous secret no longer works.',
        ]);
      }),
    ),
  );
  clients.addCommand(
    withDataOptions(
      new Command('delete')
        .description('delete a client')
        .argument('<client_id>')
        .addOption(envOption()),
    ).action((clientId: string, options: DataOptions & { env: string }) =>
      withStores(options, io, async (ctx) => {
        await deleteClient(ctx, options.env, clientId);
        say(io, [`deleted client ${clientId}`]);
      }),
    ),
  );
  clients.addCommand(
    withDataOptions(
      new Command('add-redirect')
        .description('register one redirect URI, optionally temporary (review apps, CI)')
        .addOption(envOption())
        .requiredOption('--client <client_id>', 'the client')
        .requiredOption('--uri <uri>', 'the redirect URI, exactly as requests will send it')
        .option('--expires-in <duration>', 'stop matching after 30m, 12h, 7d...')
        .option('--json', 'JSON output'),
    ).action(
      (
        options: DataOptions &
          JsonOption & { env: string; client: string; uri: string; expiresIn?: string },
      ) =>
        withStores(options, io, async (ctx) => {
          const { client, warnings } = await addRedirectUri(
            ctx,
            options.env,
            options.client,
            options.uri,
            {
              ...(options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn }),
            },
          );
          if (options.json === true) {
            writeJson(io, { ...clientJson(client), warnings });
            return;
          }
          say(io, [
            ...clientLines(client),
            ...warnings.map((w) => `warning: ${printable(w.message)}`),
          ]);
        }),
    ),
  );
  clients.addCommand(
    withDataOptions(
      new Command('promote')
        .description(
          "copy a client's configuration to another environment; lists what the target's policy refuses before writing",
        )
        .requiredOption('--from <environment>', 'the environment the client is in')
        .requiredOption('--to <environment>', 'the environment to promote it to')
        .requiredOption('--client <client_id>', 'the client')
        .option('--dry-run', 'show what would happen; change nothing')
        .option('--drop-refused', 'promote without the redirect URIs the target refuses')
        .option('--json', 'JSON output'),
    ).action(
      (
        options: DataOptions &
          JsonOption & {
            from: string;
            to: string;
            client: string;
            dryRun?: boolean;
            dropRefused?: boolean;
          },
      ) =>
        withStores(options, io, async (ctx) => {
          const plan = await planPromotion(ctx, options.from, options.client, options.to);
          const planLines = [
            `promote ${options.client} from ${options.from} to ${options.to}: ${plan.action === 'create' ? 'a new client with new credentials' : `update ${plan.targetClientId ?? ''}`}`,
            ...plan.accepted.map((uri) => `  copy    ${printable(uri)}`),
            ...plan.refused.map((r) => `  refused ${printable(r.uri)}: ${printable(r.message)}`),
            ...plan.skippedExpiring.map((uri) => `  skip    ${printable(uri)} (temporary)`),
          ];
          if (
            options.dryRun === true ||
            (plan.refused.length > 0 && options.dropRefused !== true)
          ) {
            if (options.json === true) writeJson(io, { plan, applied: false });
            else say(io, planLines);
            if (options.dryRun !== true)
              throw new InputError(
                `${options.to} refuses ${plan.refused.length} redirect URI(s); nothing was promoted (use --drop-refused to promote without them)`,
                'promotion_refused',
              );
            return;
          }
          const result = await promoteClient(ctx, options.from, options.client, options.to, {
            dropRefused: options.dropRefused === true,
          });
          if (options.json === true) {
            writeJson(io, {
              plan,
              applied: true,
              client: clientJson(result.client),
              ...(result.clientSecret === undefined ? {} : { client_secret: result.clientSecret }),
            });
            return;
          }
          say(io, [
            ...planLines,
            `promoted: ${result.client.clientId} in ${options.to}`,
            ...(result.clientSecret === undefined
              ? []
              : [`client_secret ${result.clientSecret}`, 'shown once: store it now']),
          ]);
        }),
    ),
  );
  return clients;
}

export function usersCommand(io: CliIo): Command {
  const users = new Command('users').description('manage the end users of an environment');
  users.addCommand(
    withDataOptions(
      new Command('create')
        .description('create a user')
        .addOption(envOption())
        .requiredOption('--email <email>', 'the sign-in email')
        .option(
          '--password-stdin',
          'read the password from standard input (never from an argument)',
        )
        .option('--name <name>', 'display name')
        .option(
          '--email-verified',
          "the email is known to be the user's (ID tokens and userinfo say email_verified: true)",
        )
        .option('--json', 'JSON output'),
    ).action(
      (
        options: DataOptions &
          JsonOption & {
            env: string;
            email: string;
            passwordStdin?: boolean;
            name?: string;
            emailVerified?: boolean;
          },
      ) =>
        withStores(options, io, async (ctx) => {
          let password: string | undefined;
          if (options.passwordStdin === true) {
            password = (await io.readStdin()).replace(/\r?\n$/, '');
            if (password === '') throw new UsageError('--password-stdin read an empty password');
          }
          const user = await createUser(ctx, {
            environment: options.env,
            email: options.email,
            ...(password === undefined ? {} : { password }),
            ...(options.name === undefined ? {} : { name: options.name }),
            ...(options.emailVerified === true ? { emailVerified: true } : {}),
          });
          if (options.json === true) {
            writeJson(io, userJson(user));
            return;
          }
          say(io, [
            `created user ${printable(user.email)} (${user.id}) in ${user.environment}`,
            ...(password === undefined
              ? ['note: no password set, so this user cannot sign in yet']
              : []),
          ]);
        }),
    ),
  );
  users.addCommand(
    withDataOptions(
      new Command('list')
        .description('list users')
        .addOption(envOption())
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env: string }) =>
      withStores(options, io, async (ctx) => {
        await requireEnvironment(ctx, options.env);
        const all = await ctx.stores.users.list(options.env);
        if (options.json === true) {
          writeJson(io, all.map(userJson));
          return;
        }
        say(
          io,
          all.length === 0
            ? [`no users in ${options.env}`]
            : all.map((u) => `${u.id}  ${printable(u.email)}${u.disabled ? '  (disabled)' : ''}`),
        );
      }),
    ),
  );
  const single = (
    name: string,
    description: string,
    run: (
      ctx: Parameters<Parameters<typeof withStores>[2]>[0],
      env: string,
      who: string,
    ) => Promise<User | undefined>,
  ) =>
    withDataOptions(
      new Command(name)
        .description(description)
        .argument('<user>', 'id or email')
        .addOption(envOption())
        .option('--json', 'JSON output'),
    ).action((who: string, options: DataOptions & JsonOption & { env: string }) =>
      withStores(options, io, async (ctx) => {
        const user = await run(ctx, options.env, who);
        if (options.json === true) {
          writeJson(io, user === undefined ? { deleted: who } : userJson(user));
          return;
        }
        say(
          io,
          user === undefined
            ? [`deleted user ${printable(who)}`]
            : [
                `${printable(user.email)} (${user.id})${user.disabled ? ' disabled' : ''}${user.emailVerified === true ? ' email verified' : ''}`,
              ],
        );
      }),
    );
  users.addCommand(single('show', 'show one user', (ctx, env, who) => requireUser(ctx, env, who)));
  users.addCommand(
    single('disable', 'disable a user: sessions end, tokens stop working', (ctx, env, who) =>
      setUserDisabled(ctx, env, who, true),
    ),
  );
  users.addCommand(
    single('enable', 'enable a disabled user', (ctx, env, who) =>
      setUserDisabled(ctx, env, who, false),
    ),
  );
  users.addCommand(
    withDataOptions(
      new Command('import')
        .description(
          'create users from a file exported elsewhere: a JSON array or JSON Lines of {email, name, email_verified, password_hash (argon2, PHC form)}; existing users keep everything but email_verified',
        )
        .addOption(envOption())
        .requiredOption('-f, --file <file>', 'the users file')
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env: string; file: string }) =>
      withStores(options, io, async (ctx) => {
        let text: string;
        try {
          text = await readFile(resolve(io.cwd, options.file), 'utf8');
        } catch {
          throw new UsageError(`cannot read ${options.file}`);
        }
        const result = await importUsers(ctx, options.env, parseUserImport(text));
        if (options.json === true) {
          writeJson(io, result);
          return;
        }
        say(io, [
          `imported into ${options.env}: ${result.created} created, ${result.updated} updated, ${result.unchanged} unchanged`,
        ]);
      }),
    ),
  );
  users.addCommand(
    single(
      'verify-email',
      "record that the user's email is theirs: ID tokens and userinfo say email_verified: true",
      (ctx, env, who) => setUserEmailVerified(ctx, env, who, true),
    ),
  );
  users.addCommand(
    single('unverify-email', 'record that the email is not verified', (ctx, env, who) =>
      setUserEmailVerified(ctx, env, who, false),
    ),
  );
  users.addCommand(
    single('delete', 'delete a user', async (ctx, env, who) => {
      await deleteUser(ctx, env, who);
      return undefined;
    }),
  );
  users.addCommand(
    withDataOptions(
      new Command('consents')
        .description(
          'what a user granted each client; an agent (token exchange) may act for them at the resources listed',
        )
        .argument('<user>', 'id or email')
        .addOption(envOption())
        .option('--json', 'JSON output'),
    ).action((who: string, options: DataOptions & JsonOption & { env: string }) =>
      withStores(options, io, async (ctx) => {
        const consents = await listConsents(ctx, options.env, who);
        if (options.json === true) {
          writeJson(io, consents);
          return;
        }
        say(
          io,
          consents.length === 0
            ? [`${printable(who)} has consented to nothing in ${options.env}`]
            : consents.map(
                (c) =>
                  `${c.clientId}  ${printable(c.clientName ?? '(deleted)')}${c.agent ? '  (agent)' : ''}  ${printable(
                    [
                      ...c.scopes,
                      ...c.resources.map((r) => `${r.uri} [${r.scopes.join(' ')}]`),
                    ].join(' '),
                  )}`,
              ),
        );
      }),
    ),
  );
  users.addCommand(
    withDataOptions(
      new Command('revoke-consent')
        .description(
          'forget what a user granted a client: it asks again, and may no longer act for them by token exchange',
        )
        .argument('<user>', 'id or email')
        .argument('<client_id>')
        .addOption(envOption()),
    ).action((who: string, clientId: string, options: DataOptions & { env: string }) =>
      withStores(options, io, async (ctx) => {
        await revokeConsent(ctx, options.env, who, clientId);
        say(io, [`revoked the consent of ${printable(who)} to ${clientId}`]);
      }),
    ),
  );
  return users;
}

/** One line for `gatehouse audit verify`. */
function verificationLine(result: AuditVerification): string {
  if (!result.ok)
    return result.truncated === true
      ? `audit log ${result.reason}`
      : `audit log broken at entry ${result.seq}: ${result.reason} (${result.count} entries before it verified)`;
  const unkeyed =
    result.unkeyed === 0
      ? ''
      : `; the first ${result.unkeyed} are from before keyed chaining (plain SHA-256: held only by the keyed entry after them)`;
  const checkpoint =
    result.checkpoint === undefined
      ? ''
      : `; it still reaches the checkpoint of ${new Date(result.checkpoint.at).toISOString()} (${result.checkpoint.count} entries)`;
  const anchor =
    result.anchor === undefined
      ? ''
      : `, from entry ${result.anchor.firstSeq} (the ${result.anchor.removed} before it were archived and removed, last on ${new Date(result.anchor.removedAt).toISOString()})`;
  return `audit log intact: ${result.count} entries verified${anchor}${unkeyed}${checkpoint}`;
}

/** One line for `gatehouse audit token`. */
function tokenAccountLine(jti: string, account: TokenAccount): string {
  const at = (entry: { seq: number; at: number }) =>
    `entry ${entry.seq} (${new Date(entry.at).toISOString()})`;
  if (account.status === 'unknown')
    return `not found: no audit entry accounts for ${printable(jti)} (not issued here, or its entries were removed by retention: see the archives)`;
  if ('by' in account)
    return `issued: ${printable(jti)} is named by ${at(account.by)}, ${account.by.type}${account.by.clientId === null ? '' : ` for client ${printable(account.by.clientId)}`}`;
  const { reservedBy, closedBy, n } = account;
  const reserved = `number ${n} of the block reserved by ${at(reservedBy)} for client ${printable(String(reservedBy.data.clientId))}`;
  const size = Number(reservedBy.data.size);
  if (account.status === 'maybe')
    return `may have been issued: ${printable(jti)} is ${reserved}, a block never closed: up to ${size} of it may have been issued`;
  if (closedBy === undefined)
    return `not issued: ${printable(jti)} is past the end of the block reserved by ${at(reservedBy)} (size ${size})`;
  const used = Number(closedBy.data.used);
  return account.status === 'issued'
    ? `issued: ${printable(jti)} is ${reserved}; ${at(closedBy)} closed it with ${used} used`
    : `not issued: ${printable(jti)} would be ${reserved}, but ${at(closedBy)} closed it with only ${used} used`;
}

/** `--before`: an ISO date, or an age in days (`90d`): entries older than it. */
function parseBefore(text: string, now: number): number {
  const days = /^(\d{1,6})d$/.exec(text.trim());
  if (days !== null) return now - Number(days[1]) * 86_400_000;
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at))
    throw new UsageError(
      `--before must be a date (2030-01-31, 2030-01-31T12:00:00Z) or an age in days (90d), not "${text}"`,
    );
  return at;
}

export function auditCommand(io: CliIo, setFailed: () => void): Command {
  const audit = new Command('audit').description('read and verify the hash-chained audit log');
  audit.addCommand(
    withDataOptions(
      new Command('tail')
        .description('the newest audit entries')
        .option('--env <environment>', 'only this environment')
        .option('--type <type>', 'only this event type, e.g. redirect.refused')
        .option('--limit <n>', 'how many', '50')
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env?: string; type?: string; limit: string }) =>
      withStores(options, io, async (ctx) => {
        if (!/^\d{1,5}$/.test(options.limit) || Number(options.limit) === 0)
          throw new UsageError('--limit must be a number from 1 to 99999');
        const entries = await ctx.stores.audit.tail({
          limit: Number(options.limit),
          ...(options.env === undefined ? {} : { environment: options.env }),
          ...(options.type === undefined ? {} : { type: options.type }),
        });
        if (options.json === true) {
          writeJson(
            io,
            entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
          );
          return;
        }
        say(
          io,
          entries.map(
            (e) =>
              `${String(e.seq).padStart(6)}  ${new Date(e.at).toISOString()}  ${(e.environment ?? '-').padEnd(12)}  ${e.type.padEnd(20)}  ${printable(e.actor)}  ${printable(JSON.stringify(e.data))}`,
          ),
        );
      }),
    ),
  );
  audit.addCommand(
    withDataOptions(
      new Command('verify')
        .description(
          'recompute the keyed hash chain (needs the server secret); exit 1 at the first broken entry, or when the chain no longer reaches the checkpoint',
        )
        .option(
          '--checkpoint <file>',
          'a checkpoint the export wrote (the export file itself, or one line of it): its latest checkpoint must still be in the chain; a shorter chain is reported as truncated',
        )
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { checkpoint?: string }) =>
      withStores(options, io, async (ctx) => {
        let checkpoint: Checkpoint | undefined;
        if (options.checkpoint !== undefined) {
          let text: string;
          try {
            text = await readFile(resolve(io.cwd, options.checkpoint), 'utf8');
          } catch {
            throw new UsageError(`--checkpoint ${options.checkpoint} cannot be read`);
          }
          checkpoint = latestCheckpoint(text);
          if (checkpoint === undefined)
            throw new UsageError(`--checkpoint ${options.checkpoint} holds no checkpoint`);
        }
        const result = await ctx.stores.audit.verify(checkpoint);
        if (!result.ok) setFailed();
        if (options.json === true) {
          writeJson(io, result);
          return;
        }
        say(io, [verificationLine(result)]);
      }),
    ),
  );
  audit.addCommand(
    withDataOptions(
      new Command('token')
        .description(
          "whether an access token's jti was issued, and which audit entry accounts for it: the grant's entry, or the reservation of its client_credentials jti block and the block's closing count; exit 1 when it was not issued or no entry names it",
        )
        .argument('<jti>', 'the jti claim of the access token')
        .option('--env <environment>', 'only this environment')
        .option('--json', 'JSON output'),
    ).action((jti: string, options: DataOptions & JsonOption & { env?: string }) =>
      withStores(options, io, async (ctx) => {
        const account = await accountForJti(ctx.stores.audit, jti, options.env);
        if (account.status === 'unknown' || account.status === 'not_issued') setFailed();
        if (options.json === true) {
          // Entries as `audit tail --json` shows them.
          const shown = (entry: AuditEntry) => ({ ...entry, at: new Date(entry.at).toISOString() });
          writeJson(
            io,
            'by' in account
              ? { ...account, by: shown(account.by) }
              : 'reservedBy' in account
                ? {
                    ...account,
                    reservedBy: shown(account.reservedBy),
                    ...(account.closedBy === undefined
                      ? {}
                      : { closedBy: shown(account.closedBy) }),
                  }
                : account,
          );
          return;
        }
        say(io, [tokenAccountLine(jti, account)]);
      }),
    ),
  );
  audit.addCommand(
    withDataOptions(
      new Command('verify-archive')
        .description(
          'check an archive written by audit retention (or an --audit-export file) with the server secret: its entries, links, MACs and signed checkpoint; exit 1 when it does not verify',
        )
        .argument('<file>', 'the archive')
        .option('--json', 'JSON output'),
    ).action((file: string, options: DataOptions & JsonOption) =>
      withStores(options, io, async (ctx) => {
        let text: string;
        try {
          text = await readFile(resolve(io.cwd, file), 'utf8');
        } catch {
          throw new UsageError(`${file} cannot be read`);
        }
        const result = ctx.stores.audit.verifyExport(text);
        if (!result.ok) setFailed();
        if (options.json === true) {
          writeJson(io, result);
          return;
        }
        say(io, [
          result.ok
            ? `archive intact: entries ${result.firstSeq} to ${result.lastSeq}, ending at its signed checkpoint of ${new Date(result.checkpoint.at).toISOString()}`
            : `archive broken at entry ${result.seq}: ${result.reason}`,
        ]);
      }),
    ),
  );
  audit.addCommand(
    withDataOptions(
      new Command('prune')
        .description(
          'archive the entries older than --before to a new file (JSON lines and a signed checkpoint, as --audit-export writes), then remove them; `audit verify` goes on from the first entry kept. The newest entry always stays',
        )
        .requiredOption(
          '--before <date|age>',
          'entries older than this go: a date (2030-01-31) or an age in days (365d)',
        )
        .requiredOption('--to <file>', 'the archive: a new file (never overwritten)')
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { before: string; to: string }) =>
      withStores(options, io, async (ctx) => {
        const now = ctx.clock();
        const result = await pruneAudit(ctx.stores.audit, {
          before: parseBefore(options.before, now),
          to: { file: resolve(io.cwd, options.to) },
          now,
        }).catch((error: unknown) => {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST')
            throw new UsageError(
              `--to ${options.to} exists: an archive is never overwritten (nothing was removed)`,
            );
          throw error;
        });
        if (options.json === true) {
          writeJson(io, result);
          return;
        }
        say(io, [
          result.removed === 0
            ? 'no audit entry is old enough: nothing was archived or removed'
            : `archived entries ${result.firstSeq} to ${result.lastSeq} to ${result.file}, then removed them (${result.removed})`,
        ]);
      }),
    ),
  );
  return audit;
}
