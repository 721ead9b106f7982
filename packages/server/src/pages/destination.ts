/**
 * Where the browser will be sent, in words a user can check before they click: the question a
 * confirmation page asks is "did you start this, and is that where you expect to go?".
 *
 * - loopback (RFC 8252 §7.3): "an application on this computer, port 53111". The port is the one
 *   thing that tells one local program from another, so it is always named (80 when none is given).
 * - a private-use URI scheme (RFC 8252 §7.1): "the app that handles com.example.app:".
 * - anything else (https): its host, with the port when it is not the default one.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

export function describeDestination(redirectUri: string): string {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    return redirectUri;
  }
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))
    return `an application on this computer, port ${url.port === '' ? '80' : url.port}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `the app that handles ${url.protocol}`;
  return url.host;
}
