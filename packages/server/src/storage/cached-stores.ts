import type { Kysely } from 'kysely';
import { announceChange } from './change-feed.js';
import type { ClientStore } from './clients.js';
import type { DatabaseKind } from './database.js';
import type { EnvironmentStore } from './environments.js';
import type { ReadCache } from './read-cache.js';
import type { ResourceStore } from './resources.js';
import type { SessionStore } from './sessions.js';
import type { Database } from './schema.js';
import type { UserStore } from './users.js';

/**
 * The stores every request reads, behind the read cache. Reads outside a transaction come from
 * the cache; reads inside one go to the database, which is what the transaction must see. Every
 * write drops the topic here at once and, on PostgreSQL, announces it to the other processes in
 * the same transaction (NOTIFY is delivered on commit). Drop-then-announce also covers a load
 * that raced this write: the generation check discards it, and on PostgreSQL the process hears
 * its own announcement after the commit.
 */
export interface CachedStoreSet {
  readonly environments: EnvironmentStore;
  readonly clients: ClientStore;
  readonly users: UserStore;
  readonly resources: ResourceStore;
  readonly sessions: SessionStore;
}

export const topics = {
  environments: 'environments',
  clients: (environment: string) => `clients:${environment}`,
  users: (environment: string) => `users:${environment}`,
  resources: (environment: string) => `resources:${environment}`,
  sessions: (environment: string) => `sessions:${environment}`,
} as const;

export function cacheStores(
  stores: CachedStoreSet,
  cache: ReadCache,
  db: Kysely<Database>,
  kind: DatabaseKind,
): CachedStoreSet {
  const direct = db.isTransaction;
  const changed = async <T>(topic: string, write: () => Promise<T>): Promise<T> => {
    cache.invalidate(topic);
    const result = await write();
    cache.invalidate(topic);
    await announceChange(db, kind, topic);
    return result;
  };
  const { environments, clients, users, resources, sessions } = stores;
  return {
    environments: {
      ...environments,
      get: (name) =>
        direct
          ? environments.get(name)
          : cache.read(topics.environments, name, () => environments.get(name)),
      create: (environment) => changed(topics.environments, () => environments.create(environment)),
      setImpersonationEnabled: (name, enabled) =>
        changed(topics.environments, () => environments.setImpersonationEnabled(name, enabled)),
      update: (name, settings) =>
        changed(topics.environments, () => environments.update(name, settings)),
    },
    clients: {
      ...clients,
      get: (environment, clientId) =>
        direct
          ? clients.get(environment, clientId)
          : cache.read(topics.clients(environment), clientId, () =>
              clients.get(environment, clientId),
            ),
      // Every CORS preflight at the token, revocation and userinfo endpoints reads the spa
      // clients (http/cors.ts). A topic of its own, so no client_id can name this entry; the
      // cache's one-second bound keeps it current (client writes do not announce this topic).
      listOfType: (environment, type) =>
        direct
          ? clients.listOfType(environment, type)
          : cache.read(`${topics.clients(environment)}:types`, type, () =>
              clients.listOfType(environment, type),
            ),
      create: (client, provenance) =>
        changed(topics.clients(client.environment), () => clients.create(client, provenance)),
      update: (environment, clientId, changes, at, provenance) =>
        changed(topics.clients(environment), () =>
          clients.update(environment, clientId, changes, at, provenance),
        ),
      replaceRedirectUrisIf: (environment, clientId, expected, next, expiries, at) =>
        changed(topics.clients(environment), () =>
          clients.replaceRedirectUrisIf(environment, clientId, expected, next, expiries, at),
        ),
      delete: (environment, clientId) =>
        changed(topics.clients(environment), () => clients.delete(environment, clientId)),
    },
    users: {
      ...users,
      get: (environment, id) =>
        direct
          ? users.get(environment, id)
          : cache.read(topics.users(environment), id, () => users.get(environment, id)),
      create: (user) => changed(topics.users(user.environment), () => users.create(user)),
      setDisabled: (environment, id, disabled, at) =>
        changed(topics.users(environment), () => users.setDisabled(environment, id, disabled, at)),
      setEmailVerified: (environment, id, verified, at) =>
        changed(topics.users(environment), () =>
          users.setEmailVerified(environment, id, verified, at),
        ),
      delete: (environment, id) =>
        changed(topics.users(environment), () => users.delete(environment, id)),
    },
    resources: {
      ...resources,
      // The list is what every token request with a resource reads.
      list: (environment) =>
        direct
          ? resources.list(environment)
          : cache.read(topics.resources(environment), '', () => resources.list(environment)),
      create: (resource) =>
        changed(topics.resources(resource.environment), () => resources.create(resource)),
      delete: (environment, uri) =>
        changed(topics.resources(environment), () => resources.delete(environment, uri)),
      setClientId: (environment, uri, clientId) =>
        changed(topics.resources(environment), () =>
          resources.setClientId(environment, uri, clientId),
        ),
      setAccessTokenAlg: (environment, uri, alg) =>
        changed(topics.resources(environment), () =>
          resources.setAccessTokenAlg(environment, uri, alg),
        ),
    },
    sessions: {
      ...sessions,
      // Every authorization request with a signed-in browser reads its session.
      find: async (environment, idHash, now) => {
        if (direct) return sessions.find(environment, idHash, now);
        // Kept whatever `now` was; its expiry is checked here against this call's `now`.
        const session = await cache.read(topics.sessions(environment), idHash, () =>
          sessions.find(environment, idHash, now),
        );
        return session !== undefined && session.expiresAt > now ? session : undefined;
      },
      create: (session) =>
        changed(topics.sessions(session.environment), () => sessions.create(session)),
      delete: (environment, idHash) =>
        changed(topics.sessions(environment), () => sessions.delete(environment, idHash)),
      deleteForUser: (environment, userId) =>
        changed(topics.sessions(environment), () => sessions.deleteForUser(environment, userId)),
    },
  };
}
