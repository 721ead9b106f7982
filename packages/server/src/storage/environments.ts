import { LOOPBACK_HOSTS, type LoopbackHost } from '@gatehouse/redirect-policy';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export type Tier = 'development' | 'staging' | 'production';
/** Who may register clients dynamically (RFC 7591). */
export type RegistrationPolicy = 'open' | 'token' | 'off';
export const REGISTRATION_POLICIES: readonly RegistrationPolicy[] = ['open', 'token', 'off'];

export { LOOPBACK_HOSTS, type LoopbackHost } from '@gatehouse/redirect-policy';

export interface Environment {
  readonly name: string;
  readonly tier: Tier;
  /** Whether operators may impersonate this environment's users (off by default). */
  readonly impersonationEnabled: boolean;
  readonly registration: RegistrationPolicy;
  /** Development only: metadata documents may be fetched from loopback addresses. */
  readonly allowLoopbackDocuments: boolean;
  /**
   * Whether Client ID Metadata Documents are accepted (clients that describe themselves at an
   * https URL). Only where allowed explicitly; new development environments allow them.
   */
  readonly metadataDocuments: boolean;
  /** RFC 9126 §5: every client here must push its authorization requests. Off by default. */
  readonly requirePar: boolean;
  /** RFC 9449: every token request here must carry a DPoP proof. Off by default. */
  readonly requireDpop: boolean;
  /**
   * Seconds in which a just-rotated refresh token, presented again by the same client (with the
   * same DPoP key when bound), gets a successor instead of revoking its grant. 0: no grace.
   */
  readonly refreshGraceSeconds: number;
  /**
   * The loopback hosts redirect URIs may name here (issue #18): all three by default; an operator
   * may refuse `localhost` (RFC 8252 §8.3: the name can resolve elsewhere).
   */
  readonly loopbackHosts: readonly LoopbackHost[];
  readonly createdAt: number;
}

export interface EnvironmentSettings {
  readonly impersonationEnabled?: boolean;
  readonly registration?: RegistrationPolicy;
  readonly allowLoopbackDocuments?: boolean;
  readonly metadataDocuments?: boolean;
  readonly requirePar?: boolean;
  readonly requireDpop?: boolean;
  readonly refreshGraceSeconds?: number;
  /** Null: back to the default (all three). */
  readonly loopbackHosts?: readonly LoopbackHost[] | null;
}

/** Lower-case letters, digits and dashes: it appears in URLs, client IDs and secrets. */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export interface EnvironmentStore {
  list(): Promise<Environment[]>;
  get(name: string): Promise<Environment | undefined>;
  /** Returns false when an environment of that name exists already. */
  create(
    environment: Pick<Environment, 'name' | 'tier' | 'createdAt'> & {
      registration?: RegistrationPolicy;
      metadataDocuments?: boolean;
    },
  ): Promise<boolean>;
  /** Returns false when there is no such environment. */
  setImpersonationEnabled(name: string, enabled: boolean): Promise<boolean>;
  /** Returns false when there is no such environment. */
  update(name: string, settings: EnvironmentSettings): Promise<boolean>;
}

export function environmentStore(db: Kysely<Database>): EnvironmentStore {
  const toEnvironment = (row: {
    name: string;
    tier: string;
    impersonation_enabled: number;
    registration: string;
    allow_loopback_documents: number;
    metadata_documents: number;
    require_par: number;
    require_dpop: number;
    refresh_grace_seconds: number;
    loopback_hosts: string | null;
    created_at: number;
  }): Environment => ({
    name: row.name,
    tier: row.tier as Tier,
    impersonationEnabled: row.impersonation_enabled === 1,
    registration: row.registration as RegistrationPolicy,
    allowLoopbackDocuments: row.allow_loopback_documents === 1,
    metadataDocuments: row.metadata_documents === 1,
    requirePar: row.require_par === 1,
    requireDpop: row.require_dpop === 1,
    refreshGraceSeconds: row.refresh_grace_seconds,
    loopbackHosts:
      row.loopback_hosts === null
        ? LOOPBACK_HOSTS
        : (JSON.parse(row.loopback_hosts) as LoopbackHost[]),
    createdAt: row.created_at,
  });
  return {
    async list() {
      const rows = await db
        .selectFrom('environments')
        .selectAll()
        .orderBy('created_at')
        .orderBy('name')
        .execute();
      return rows.map(toEnvironment);
    },
    async get(name) {
      const row = await db
        .selectFrom('environments')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      return row === undefined ? undefined : toEnvironment(row);
    },
    async create(environment) {
      const result = await db
        .insertInto('environments')
        .values({
          name: environment.name,
          tier: environment.tier,
          registration:
            environment.registration ?? (environment.tier === 'development' ? 'open' : 'token'),
          metadata_documents:
            (environment.metadataDocuments ?? environment.tier === 'development') ? 1 : 0,
          created_at: environment.createdAt,
        })
        .onConflict((c) => c.column('name').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async update(name, settings) {
      const result = await db
        .updateTable('environments')
        .set({
          ...(settings.impersonationEnabled === undefined
            ? {}
            : { impersonation_enabled: settings.impersonationEnabled ? 1 : 0 }),
          ...(settings.registration === undefined ? {} : { registration: settings.registration }),
          ...(settings.allowLoopbackDocuments === undefined
            ? {}
            : { allow_loopback_documents: settings.allowLoopbackDocuments ? 1 : 0 }),
          ...(settings.metadataDocuments === undefined
            ? {}
            : { metadata_documents: settings.metadataDocuments ? 1 : 0 }),
          ...(settings.requirePar === undefined
            ? {}
            : { require_par: settings.requirePar ? 1 : 0 }),
          ...(settings.requireDpop === undefined
            ? {}
            : { require_dpop: settings.requireDpop ? 1 : 0 }),
          ...(settings.refreshGraceSeconds === undefined
            ? {}
            : { refresh_grace_seconds: settings.refreshGraceSeconds }),
          ...(settings.loopbackHosts === undefined
            ? {}
            : {
                loopback_hosts:
                  settings.loopbackHosts === null ? null : JSON.stringify(settings.loopbackHosts),
              }),
        })
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setImpersonationEnabled(name, enabled) {
      const result = await db
        .updateTable('environments')
        .set({ impersonation_enabled: enabled ? 1 : 0 })
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
