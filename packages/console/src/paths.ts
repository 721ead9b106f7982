/** The console's URLs, below the router's basename (`/admin`, Vite's `base`). */
export const BASENAME = import.meta.env.BASE_URL.replace(/\/$/, '');

export const paths = {
  environments: (): string => '/environments',
  environment: (env: string): string => `/environments/${encodeURIComponent(env)}`,
  redirectInventory: (env: string): string => `/environments/${encodeURIComponent(env)}/redirects`,
  client: (env: string, clientId: string): string =>
    `/environments/${encodeURIComponent(env)}/clients/${encodeURIComponent(clientId)}`,
  audit: (): string => '/audit',
  operators: (): string => '/operators',
};
