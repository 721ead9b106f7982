import {
  EnvHttpProxyAgent,
  getGlobalDispatcher,
  setGlobalDispatcher,
  type Dispatcher,
} from 'undici';

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
