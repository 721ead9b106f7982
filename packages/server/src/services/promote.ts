import type { Client, GrantType } from '../storage/clients.js';
import {
  createClient,
  redirectPolicyFor,
  refusedUris,
  requireClient,
  updateClient,
  type RefusedUri,
} from './clients.js';
import { checkClientSettings, settingsOf } from './client-settings.js';
import type { ServiceContext } from './context.js';
import { requireEnvironment } from './environments.js';
import { InputError } from './input-error.js';

export interface PromotionPlan {
  readonly from: string;
  readonly to: string;
  readonly clientId: string;
  /** `update` when the target already holds a client promoted from this one. */
  readonly action: 'create' | 'update';
  readonly targetClientId: string | null;
  /** Redirect URIs the target environment's policy accepts: these are copied. */
  readonly accepted: readonly string[];
  /** Redirect URIs the target's policy refuses (wildcards, http, localhost for web clients...). */
  readonly refused: readonly RefusedUri[];
  /** Temporary URIs (review apps) are never promoted. */
  readonly skippedExpiring: readonly string[];
  readonly grantTypes: readonly GrantType[];
}

export interface PromotionResult {
  readonly plan: PromotionPlan;
  readonly client: Client;
  /**
   * For a web client promoted for the first time (unless it uses private_key_jwt), or one that
   * stops using private_key_jwt: its new secret, shown once.
   */
  readonly clientSecret?: string;
}

const origin = (environment: string, clientId: string): string => `${environment}/${clientId}`;

/**
 * The settings that travel with a promotion: how the client authenticates (its keys are the same
 * software's in every environment) and signs its ID tokens. Logout URIs name the environment's
 * hosts, and PAR, DPoP and the no-PKCE exception are each environment's decision: they are set
 * there (a first promotion gets the target's defaults, `registeredDefaults` in clients.ts: a
 * public client promoted to production requires DPoP), and a later one keeps the target's.
 */
function promotedSettings(source: Client) {
  return {
    idTokenSignedResponseAlg: source.idTokenSignedResponseAlg ?? null,
    tokenEndpointAuthMethod: source.tokenEndpointAuthMethod ?? null,
    jwks: source.jwks ?? null,
    jwksUri: source.jwksUri ?? null,
  };
}

/** What promoting a client would do, computed before anything is written. */
export async function planPromotion(
  ctx: ServiceContext,
  from: string,
  clientId: string,
  to: string,
): Promise<PromotionPlan> {
  const source = await requireClient(ctx, from, clientId);
  const target = await requireEnvironment(ctx, to);
  if (from === to)
    throw new InputError(
      'a client is promoted to another environment, not its own',
      'same_environment',
    );
  const expiring = source.redirectUris.filter(
    (uri) => source.redirectUriExpiries[uri] !== undefined,
  );
  // The settings that travel are held to the target's rules now, so that a dry run already says
  // what the promotion would refuse (a loopback jwks_uri is a development environment's only).
  checkClientSettings(target, source.type, settingsOf(promotedSettings(source)));
  const candidates = source.redirectUris.filter((uri) => !expiring.includes(uri));
  const refused = refusedUris(redirectPolicyFor(target, source.type), candidates);
  const existing = (await ctx.stores.clients.list(to)).find(
    (c) => c.promotedFrom === origin(from, clientId),
  );
  return {
    from,
    to,
    clientId,
    action: existing === undefined ? 'create' : 'update',
    targetClientId: existing?.clientId ?? null,
    accepted: candidates.filter((uri) => !refused.some((r) => r.uri === uri)),
    refused,
    skippedExpiring: expiring,
    grantTypes: source.grantTypes,
  };
}

/**
 * Copies a client's configuration to another environment. New credentials are issued there on
 * first promotion; a later promotion updates the same target client. When the target's policy
 * refuses some redirect URIs nothing is written, unless the operator chose to drop them.
 */
export async function promoteClient(
  ctx: ServiceContext,
  from: string,
  clientId: string,
  to: string,
  options: { readonly dropRefused?: boolean } = {},
): Promise<PromotionResult> {
  const plan = await planPromotion(ctx, from, clientId, to);
  if (plan.refused.length > 0 && options.dropRefused !== true) {
    throw new InputError(
      `${to} refuses ${plan.refused.length} of the client's redirect URIs; nothing was promoted`,
      'promotion_refused',
      plan.refused,
    );
  }
  const source = await requireClient(ctx, from, clientId);
  // The inventory records the copied URIs as registered by promotion (and by whom).
  const promotion: ServiceContext = { ...ctx, channel: 'promotion' };
  if (plan.targetClientId !== null) {
    const { client, clientSecret } = await updateClient(promotion, to, plan.targetClientId, {
      name: source.name,
      setRedirectUris: plan.accepted,
      grantTypes: source.grantTypes,
      skipConsent: source.skipConsent,
      ...promotedSettings(source),
      auditType: 'client.promoted',
    });
    // A target that stops using private_key_jwt is issued a secret, shown once.
    return clientSecret === undefined ? { plan, client } : { plan, client, clientSecret };
  }
  const created = await createClient(promotion, {
    environment: to,
    type: source.type,
    name: source.name,
    redirectUris: plan.accepted,
    grantTypes: source.grantTypes,
    skipConsent: source.skipConsent,
    ...promotedSettings(source),
    promotedFrom: origin(from, clientId),
  });
  return created.clientSecret === undefined
    ? { plan, client: created.client }
    : { plan, client: created.client, clientSecret: created.clientSecret };
}
