/**
 * Loading and changing through TanStack Query: one key per API list or object, a hook per query,
 * and `useAction` for every change, which invalidates what the change makes stale.
 */
import {
  useMutation,
  useQuery,
  useQueryClient,
  type QueryKey,
  type UseMutationResult,
} from '@tanstack/react-query';
import {
  getClient,
  listClients,
  listConsents,
  listEnvironments,
  listImpersonations,
  listOperators,
  listRefusedRedirects,
  listResources,
  listUsers,
} from './admin';

/**
 * Everything about one environment sits under `['environment', env]`, everything about one client
 * under its key: invalidating a prefix refetches all of it.
 */
export const keys = {
  environments: ['environments'] as const,
  environment: (env: string) => ['environment', env] as const,
  clients: (env: string) => ['environment', env, 'clients'] as const,
  client: (env: string, clientId: string) => ['environment', env, 'client', clientId] as const,
  refused: (env: string, clientId: string) =>
    ['environment', env, 'client', clientId, 'refused'] as const,
  users: (env: string) => ['environment', env, 'users'] as const,
  /** Under the users: a change to the users (one deleted) refetches them. */
  consents: (env: string, userId: string) =>
    ['environment', env, 'users', userId, 'consents'] as const,
  impersonations: (env: string) => ['environment', env, 'impersonations'] as const,
  resources: (env: string) => ['environment', env, 'resources'] as const,
  operators: ['operators'] as const,
  audit: ['audit'] as const,
};

export const useEnvironments = () =>
  useQuery({ queryKey: keys.environments, queryFn: listEnvironments });
export const useClients = (env: string) =>
  useQuery({ queryKey: keys.clients(env), queryFn: () => listClients(env) });
export const useClient = (env: string, clientId: string) =>
  useQuery({ queryKey: keys.client(env, clientId), queryFn: () => getClient(env, clientId) });
export const useRefusedRedirects = (env: string, clientId: string) =>
  useQuery({
    queryKey: keys.refused(env, clientId),
    queryFn: () => listRefusedRedirects(env, clientId),
  });
export const useUsers = (env: string) =>
  useQuery({ queryKey: keys.users(env), queryFn: () => listUsers(env) });
export const useConsents = (env: string, userId: string) =>
  useQuery({ queryKey: keys.consents(env, userId), queryFn: () => listConsents(env, userId) });
export const useImpersonations = (env: string) =>
  useQuery({ queryKey: keys.impersonations(env), queryFn: () => listImpersonations(env) });
export const useResources = (env: string) =>
  useQuery({ queryKey: keys.resources(env), queryFn: () => listResources(env) });
export const useOperators = () => useQuery({ queryKey: keys.operators, queryFn: listOperators });

export interface ActionOptions<V, R> {
  readonly run: (variables: V) => Promise<R>;
  /** Keys (prefixes) the change makes stale: refetched once it succeeds. */
  readonly invalidates?: (variables: V, result: R) => readonly QueryKey[];
  readonly onDone?: (result: R, variables: V) => void;
}

/**
 * A change: `pending` while it runs, `error` when it failed (the server's message), and the
 * queries it touches refetched when it succeeded. Every form and button that changes something
 * uses this.
 */
export function useAction<V = void, R = unknown>({
  run,
  invalidates,
  onDone,
}: ActionOptions<V, R>): UseMutationResult<R, Error, V> {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: async (result, variables) => {
      onDone?.(result, variables);
      // The audit log records every change.
      const stale = [...(invalidates?.(variables, result) ?? []), keys.audit];
      await Promise.all(stale.map((queryKey) => queryClient.invalidateQueries({ queryKey })));
    },
  });
}

/** What a change to a client makes stale: the client, its refused redirects, the list. */
export const clientKeys = (client: {
  readonly environment: string;
  readonly clientId: string;
}): readonly QueryKey[] => [
  keys.client(client.environment, client.clientId),
  keys.clients(client.environment),
];
