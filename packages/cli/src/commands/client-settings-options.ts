import {
  ID_TOKEN_ALGS,
  TOKEN_ENDPOINT_AUTH_METHODS,
  type Client,
  type ClientSettingsInput,
} from '@gatehouse/server';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { printable } from '../output/text.js';
import { collect } from './data-options.js';

/**
 * The issue #16 and #17 client settings as `clients create` and `clients update` flags. The server
 * checks them (services/client-settings.ts); here they are only read from the command line.
 */
export interface SettingsOptions {
  idTokenAlg?: NonNullable<ClientSettingsInput['idTokenSignedResponseAlg']>;
  postLogoutRedirectUri?: string[];
  addPostLogoutRedirectUri?: string[];
  removePostLogoutRedirectUri?: string[];
  /** A string, or false with --no-backchannel-logout-uri (update). */
  backchannelLogoutUri?: string | false;
  /** A file, or false with --no-jwks (update: clears jwks and jwks_uri). */
  jwks?: string | false;
  jwksUri?: string;
  authMethod?: NonNullable<ClientSettingsInput['tokenEndpointAuthMethod']>;
  requirePar?: boolean;
  pkceExemptWithNonce?: boolean;
  /** true with --require-dpop, false with --no-require-dpop, absent: the default. */
  requireDpop?: boolean;
}

export function withSettingsOptions(command: Command, mode: 'create' | 'update'): Command {
  command
    .addOption(
      new Option(
        '--id-token-alg <alg>',
        'how its ID tokens are signed (id_token_signed_response_alg; default RS256)',
      ).choices(ID_TOKEN_ALGS),
    )
    .option(
      mode === 'create'
        ? '--post-logout-redirect-uri <uri>'
        : '--add-post-logout-redirect-uri <uri>',
      'where RP-initiated logout may return to; checked like a redirect URI (repeat)',
      collect,
    );
  if (mode === 'update')
    command.option(
      '--remove-post-logout-redirect-uri <uri>',
      'remove a post-logout redirect URI (repeat)',
      collect,
    );
  command
    .option(
      '--backchannel-logout-uri <uri>',
      'where logout tokens are POSTed (OpenID Back-Channel Logout); https',
    )
    .option('--jwks <file>', "a JSON file with the client's public keys (a JWK Set)")
    .option('--jwks-uri <uri>', "an https URL serving the client's public keys")
    .addOption(
      new Option(
        '--auth-method <method>',
        'token_endpoint_auth_method; private_key_jwt needs --jwks or --jwks-uri and has no secret',
      ).choices(TOKEN_ENDPOINT_AUTH_METHODS),
    )
    .option('--require-par', 'it must use pushed authorization requests (RFC 9126)')
    .option(
      '--pkce-exempt-with-nonce',
      'legacy exception (web clients only): may omit PKCE when it sends an OpenID nonce',
    )
    .option(
      '--require-dpop',
      'its token requests must carry a DPoP proof, binding its tokens to a key it holds (RFC 9449)' +
        (mode === 'create' ? '; the default for native and spa clients in production' : ''),
    )
    // On create too: a public client in production requires DPoP unless told otherwise.
    .option(
      '--no-require-dpop',
      mode === 'create'
        ? 'DPoP not required (a native or spa client in production requires it by default)'
        : 'DPoP proofs no longer required of it',
    );
  if (mode === 'update')
    command
      .option('--no-backchannel-logout-uri', 'no back-channel logout')
      .option('--no-jwks', 'remove its keys (jwks and jwks_uri)')
      .option('--no-require-par', 'pushed authorization requests no longer required')
      .option('--no-pkce-exempt-with-nonce', 'PKCE required again');
  return command;
}

async function readJwks(file: string, io: CliIo): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch {
    throw new UsageError(`cannot read the JWK Set file ${file}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON (a JWK Set: {"keys": [...]})`);
  }
}

/** The settings the flags give; `current` is the client being updated. */
export async function settingsFromOptions(
  options: SettingsOptions,
  io: CliIo,
  current?: Client,
): Promise<ClientSettingsInput> {
  if (typeof options.jwks === 'string' && options.jwksUri !== undefined)
    throw new UsageError('use --jwks or --jwks-uri, not both');
  let postLogoutRedirectUris: readonly string[] | undefined = options.postLogoutRedirectUri;
  if (
    current !== undefined &&
    (options.addPostLogoutRedirectUri !== undefined ||
      options.removePostLogoutRedirectUri !== undefined)
  ) {
    let uris = [...(current.postLogoutRedirectUris ?? [])];
    for (const uri of options.addPostLogoutRedirectUri ?? [])
      if (!uris.includes(uri)) uris.push(uri);
    for (const uri of options.removePostLogoutRedirectUri ?? []) {
      if (!uris.includes(uri))
        throw new UsageError(
          `client ${current.clientId} has no post-logout redirect URI ${printable(uri)}`,
        );
      uris = uris.filter((u) => u !== uri);
    }
    postLogoutRedirectUris = uris;
  }
  const jwks =
    options.jwks === undefined
      ? undefined
      : options.jwks === false
        ? null
        : ((await readJwks(options.jwks, io)) as ClientSettingsInput['jwks']);
  return {
    ...(options.idTokenAlg === undefined ? {} : { idTokenSignedResponseAlg: options.idTokenAlg }),
    ...(postLogoutRedirectUris === undefined ? {} : { postLogoutRedirectUris }),
    ...(options.backchannelLogoutUri === undefined
      ? {}
      : { backchannelLogoutUri: options.backchannelLogoutUri || null }),
    // Keys come as one or the other: giving one replaces the other (RFC 7591 §2: not both).
    ...(jwks === undefined ? {} : { jwks, jwksUri: null }),
    ...(options.jwksUri === undefined ? {} : { jwksUri: options.jwksUri, jwks: null }),
    ...(options.authMethod === undefined ? {} : { tokenEndpointAuthMethod: options.authMethod }),
    ...(options.requirePar === undefined ? {} : { requirePar: options.requirePar }),
    ...(options.pkceExemptWithNonce === undefined
      ? {}
      : { pkceExemptWithNonce: options.pkceExemptWithNonce }),
    ...(options.requireDpop === undefined ? {} : { requireDpop: options.requireDpop }),
  };
}

/** The `--json` fields of the settings, in the RFC 7591 / OpenID names scripts know. */
export function settingsJson(client: Client): Record<string, unknown> {
  return {
    id_token_signed_response_alg: client.idTokenSignedResponseAlg ?? null,
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    backchannel_logout_uri: client.backchannelLogoutUri ?? null,
    jwks: client.jwks ?? null,
    jwks_uri: client.jwksUri ?? null,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod ?? null,
    require_pushed_authorization_requests: client.requirePar ?? false,
    pkce_exempt_with_nonce: client.pkceExemptWithNonce ?? false,
    // RFC 9449 §5.2's client metadata name.
    dpop_bound_access_tokens: client.requireDpop ?? false,
  };
}

/** The settings that are not at their default, one line each, for `clients show`. */
export function settingsLines(client: Client): string[] {
  const keys = client.jwks?.keys ?? [];
  return [
    ...(client.tokenEndpointAuthMethod == null
      ? []
      : [`auth method   ${client.tokenEndpointAuthMethod}`]),
    ...(keys.length === 0
      ? []
      : [
          `jwks          ${keys.length} key${keys.length === 1 ? '' : 's'}: ${printable(
            keys.map((key) => (typeof key.kid === 'string' ? key.kid : '(no kid)')).join(', '),
          )}`,
        ]),
    ...(client.jwksUri == null ? [] : [`jwks_uri      ${printable(client.jwksUri)}`]),
    ...(client.idTokenSignedResponseAlg == null
      ? []
      : [`ID token alg  ${client.idTokenSignedResponseAlg}`]),
    ...(client.postLogoutRedirectUris ?? []).map(
      (uri, i) => `${i === 0 ? 'after logout ' : '             '} ${printable(uri)}`,
    ),
    ...(client.backchannelLogoutUri == null
      ? []
      : [`logout hook   ${printable(client.backchannelLogoutUri)}`]),
    ...(client.requirePar === true ? ['require PAR   yes'] : []),
    ...(client.requireDpop === true ? ['require DPoP  yes'] : []),
    ...(client.pkceExemptWithNonce === true
      ? ['WARNING       PKCE not required when it sends a nonce (legacy exception)']
      : []),
  ];
}
