import {
  EnvHttpProxyAgent,
  getGlobalDispatcher,
  setGlobalDispatcher,
  type Dispatcher,
} from 'undici';
import { LoginError } from './server-metadata.js';

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

/**
 * Routes the kit's calls to the authorization server (discovery, token, revocation: all through
 * fetch) via the proxy named in HTTPS_PROXY / HTTP_PROXY, except for hosts in NO_PROXY. Node's
 * fetch ignores those variables by itself. Returns a function that restores the previous setting.
 * The loopback listener is a server, not a client, and is never proxied.
 */
export function useProxyFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): () => void {
  if (!PROXY_VARIABLES.some((name) => (env[name] ?? '') !== '')) return () => undefined;
  const previous: Dispatcher = getGlobalDispatcher();
  const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy;
  const httpProxy = env.HTTP_PROXY ?? env.http_proxy;
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  // Refused by name only: a proxy URL can carry credentials (user:password@), never repeated.
  for (const [name, value] of [
    [env.HTTPS_PROXY === undefined ? 'https_proxy' : 'HTTPS_PROXY', httpsProxy],
    [env.HTTP_PROXY === undefined ? 'http_proxy' : 'HTTP_PROXY', httpProxy],
  ] as const)
    if (value !== undefined && value !== '' && !URL.canParse(value))
      throw new LoginError(
        `${name} is not a URL such as http://proxy.example:3128; fix or unset it`,
        'invalid_proxy',
      );
  setGlobalDispatcher(
    new EnvHttpProxyAgent({
      ...(httpsProxy === undefined ? {} : { httpsProxy }),
      ...(httpProxy === undefined ? {} : { httpProxy }),
      ...(noProxy === undefined ? {} : { noProxy }),
    }),
  );
  return () => {
    setGlobalDispatcher(previous);
  };
}
