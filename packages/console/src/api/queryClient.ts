import { QueryClient } from '@tanstack/react-query';
/**
 * Data is refetched when a change makes it stale (`useAction`) and when a page shows it again. A
 * failed request is not retried: the operator sees the server's message at once.
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      mutations: { retry: false },
      queries: {
        staleTime: 0,
        refetchOnWindowFocus: false,
        retry: false,
      },
    },
  });
}
