import {
  REGISTRATION_POLICIES,
  createInitialAccessToken,
  revokeInitialAccessTokens,
  parseDuration,
  registerResource,
  removeResource,
  setResourceAccessTokenAlg,
  setResourceClient,
  requireEnvironment,
  updateEnvironmentSettings,
  type RegistrationPolicy,
} from '@gatehouse/server';
import { Argument, Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { printable } from '../output/text.js';
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
 * `gatehouse registration`: how clients that were never registered by hand may appear, per
 * environment (RFC 7591 dynamic registration; Client ID Metadata Documents).
 */
export function registrationCommand(io: CliIo): Command {
  const registration = new Command('registration').description(
    'dynamic client registration (RFC 7591) and metadata documents, per environment',
  );
  registration.addCommand(
    withDataOptions(
      new Command('show')
        .description("an environment's registration settings")
        .addOption(envOption())
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env: string }) =>
      withStores(options, io, async (ctx) => {
        const env = await requireEnvironment(ctx, options.env);
        const settings = {
          environment: env.name,
          registration: env.registration,
          allow_loopback_documents: env.allowLoopbackDocuments,
          metadata_documents: env.metadataDocuments,
        };
        if (options.json === true) writeJson(io, settings);
        else
          say(io, [
            `registration              ${env.registration}`,
            `metadata documents        ${env.metadataDocuments ? 'allowed' : 'refused'}`,
            `loopback documents        ${env.allowLoopbackDocuments ? 'allowed' : 'refused'}`,
          ]);
      }),
    ),
  );
  registration.addCommand(
    withDataOptions(
      new Command('policy')
        .description('who may register: open, token (an initial access token) or off')
        .addOption(envOption())
        .addArgument(new Argument('<policy>').choices([...REGISTRATION_POLICIES])),
    ).action((policy: RegistrationPolicy, options: DataOptions & { env: string }) =>
      withStores(options, io, async (ctx) => {
        const env = await updateEnvironmentSettings(ctx, options.env, { registration: policy });
        say(io, [`registration in ${env.name}: ${env.registration}`]);
      }),
    ),
  );
  registration.addCommand(
    withDataOptions(
      new Command('documents')
        .description(
          'allow or refuse Client ID Metadata Documents (clients that describe themselves at an https URL); independent of the registration policy',
        )
        .addOption(envOption())
        .addArgument(new Argument('<setting>').choices(['allow', 'refuse'])),
    ).action((setting: string, options: DataOptions & { env: string }) =>
      withStores(options, io, async (ctx) => {
        const env = await updateEnvironmentSettings(ctx, options.env, {
          metadataDocuments: setting === 'allow',
        });
        say(io, [
          `metadata documents in ${env.name}: ${env.metadataDocuments ? 'allowed' : 'refused'}`,
        ]);
      }),
    ),
  );
  registration.addCommand(
    withDataOptions(
      new Command('loopback-documents')
        .description(
          'development only: allow Client ID Metadata Documents on loopback, for local tests',
        )
        .addOption(envOption())
        .addArgument(new Argument('<setting>').choices(['allow', 'refuse'])),
    ).action((setting: string, options: DataOptions & { env: string }) =>
      withStores(options, io, async (ctx) => {
        const env = await updateEnvironmentSettings(ctx, options.env, {
          allowLoopbackDocuments: setting === 'allow',
        });
        say(io, [
          `loopback metadata documents in ${env.name}: ${env.allowLoopbackDocuments ? 'allowed' : 'refused'}`,
        ]);
      }),
    ),
  );
  registration.addCommand(
    withDataOptions(
      new Command('token')
        .description('issue an initial access token for registration; printed once')
        .addOption(envOption())
        .option('--expires-in <duration>', 'lifetime: 30m, 12h, 7d...', '1d')
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env: string; expiresIn: string }) =>
      withStores(options, io, async (ctx) => {
        await requireEnvironment(ctx, options.env);
        const issued = await createInitialAccessToken(
          ctx,
          options.env,
          parseDuration(options.expiresIn),
        );
        if (options.json === true)
          writeJson(io, {
            initial_access_token: issued.token,
            expires_at: new Date(issued.expiresAt).toISOString(),
          });
        else
          say(io, [
            `initial access token ${issued.token}`,
            `expires ${new Date(issued.expiresAt).toISOString()}; shown once: store it now`,
          ]);
      }),
    ),
  );
  registration.addCommand(
    withDataOptions(
      new Command('revoke-tokens')
        .description('revoke every initial access token of the environment')
        .addOption(envOption()),
    ).action((options: DataOptions & { env: string }) =>
      withStores(options, io, async (ctx) => {
        await requireEnvironment(ctx, options.env);
        const count = await revokeInitialAccessTokens(ctx, options.env);
        say(io, [`revoked ${count} initial access token(s) in ${options.env}`]);
      }),
    ),
  );
  return registration;
}

const RESOURCE_CLIENT_HELP =
  "the confidential client the resource's server authenticates as, to read the revocation feed and introspect its tokens";

const ACCESS_TOKEN_ALG_HELP =
  'ES256 (the default) or RS256, for a resource server that verifies only RS256';

function clientLine(clientId: string | null): string[] {
  return [
    clientId === null
      ? 'no client: its server cannot read the revocation feed'
      : `client ${printable(clientId)}`,
  ];
}

/** `gatehouse resources`: the protected resources (RFC 8707) an environment issues tokens for. */
export function resourcesCommand(io: CliIo): Command {
  const resources = new Command('resources').description(
    'protected resources (RFC 8707 / RFC 9728) and their scopes, per environment',
  );
  resources.addCommand(
    withDataOptions(
      new Command('add')
        .description('register a resource; once any exists, only registered ones may be asked for')
        .addOption(envOption())
        .requiredOption('--uri <uri>', 'the resource indicator, exactly as clients send it')
        .requiredOption('--name <name>', 'a name for people')
        .option('--scope <scope>', 'a scope the resource defines (repeatable)', collect, [])
        .option('--client <client_id>', RESOURCE_CLIENT_HELP)
        .option('--access-token-alg <alg>', ACCESS_TOKEN_ALG_HELP)
        .option('--json', 'JSON output'),
    ).action(
      (
        options: DataOptions &
          JsonOption & {
            env: string;
            uri: string;
            name: string;
            scope: string[];
            client?: string;
            accessTokenAlg?: string;
          },
      ) =>
        withStores(options, io, async (ctx) => {
          const resource = await registerResource(ctx, options.env, {
            uri: options.uri,
            name: options.name,
            scopes: options.scope,
            clientId: options.client ?? null,
            accessTokenAlg: options.accessTokenAlg ?? null,
          });
          if (options.json === true) writeJson(io, resource);
          else
            say(io, [
              `registered ${printable(resource.uri)} (${resource.scopes.join(' ') || 'no scopes'})`,
              ...clientLine(resource.clientId),
            ]);
        }),
    ),
  );
  resources.addCommand(
    withDataOptions(
      new Command('update')
        .description(
          'link a resource to the client its server authenticates as, or unlink it; or set the algorithm of its access tokens',
        )
        .addOption(envOption())
        .requiredOption('--uri <uri>', 'the resource')
        .option('--client <client_id>', RESOURCE_CLIENT_HELP)
        .option('--no-client', 'no client: its server can no longer read the revocation feed')
        .option('--access-token-alg <alg>', ACCESS_TOKEN_ALG_HELP)
        .option('--json', 'JSON output'),
    ).action(
      (
        options: DataOptions &
          JsonOption & {
            env: string;
            uri: string;
            /** The client ID; false with --no-client; undefined with neither. */
            client?: string | false;
            accessTokenAlg?: string;
          },
      ) =>
        withStores(options, io, async (ctx) => {
          if (options.client === undefined && options.accessTokenAlg === undefined)
            throw new UsageError(
              'say what to change: --client <client_id>, --no-client, or --access-token-alg <alg>',
            );
          let resource =
            options.client === undefined
              ? undefined
              : await setResourceClient(
                  ctx,
                  options.env,
                  options.uri,
                  options.client === false ? null : options.client,
                );
          if (options.accessTokenAlg !== undefined)
            resource = await setResourceAccessTokenAlg(
              ctx,
              options.env,
              options.uri,
              options.accessTokenAlg,
            );
          if (resource === undefined) return;
          if (options.json === true) writeJson(io, resource);
          else say(io, [`updated ${printable(resource.uri)}`, ...clientLine(resource.clientId)]);
        }),
    ),
  );
  resources.addCommand(
    withDataOptions(
      new Command('list')
        .description('list resources')
        .addOption(envOption())
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env: string }) =>
      withStores(options, io, async (ctx) => {
        await requireEnvironment(ctx, options.env);
        const all = await ctx.stores.resources.list(options.env);
        if (options.json === true) writeJson(io, all);
        else
          say(
            io,
            all.length === 0
              ? [`no resources registered in ${options.env}: any resource may be asked for`]
              : all.map(
                  (r) =>
                    `${printable(r.uri)}  ${printable(r.name)}  ${r.scopes.join(' ')}${r.clientId === null ? '' : `  client ${printable(r.clientId)}`}`,
                ),
          );
      }),
    ),
  );
  resources.addCommand(
    withDataOptions(
      new Command('remove')
        .description('remove a resource')
        .addOption(envOption())
        .requiredOption('--uri <uri>', 'the resource'),
    ).action((options: DataOptions & { env: string; uri: string }) =>
      withStores(options, io, async (ctx) => {
        await removeResource(ctx, options.env, options.uri);
        say(io, [`removed ${printable(options.uri)}`]);
      }),
    ),
  );
  return resources;
}
