import type { ResourceServer } from './resource-server.js';

/** A response any framework can write. */
export interface PlainResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/** Whether a request target (path and query) is this resource's metadata URL. */
export function isMetadataRequest(resourceServer: ResourceServer, target: string): boolean {
  const mark = target.indexOf('?');
  const path = mark === -1 ? target : target.slice(0, mark);
  const wanted = new URL(resourceServer.metadataUrl);
  // The resource's own query, if it has one, is part of the metadata URL (RFC 9728 §3.1); any
  // other query on a query-less resource is ignored, as for any static document.
  return path === wanted.pathname && (wanted.search === '' || target.slice(mark) === wanted.search);
}

/**
 * The answer to a request for the metadata document (RFC 9728 §3.2: a 200 with
 * `application/json`). It is public and read by browser-based MCP clients too, which send
 * `MCP-Protocol-Version` and so need CORS, preflight included.
 */
export function metadataResponse(resourceServer: ResourceServer, method: string): PlainResponse {
  const cors = { 'access-control-allow-origin': '*' };
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      return {
        status: 200,
        headers: {
          ...cors,
          'content-type': 'application/json',
          'cache-control': 'public, max-age=300',
        },
        body: JSON.stringify(resourceServer.metadata),
      };
    case 'OPTIONS':
      return {
        status: 204,
        headers: {
          ...cors,
          'access-control-allow-methods': 'GET, HEAD, OPTIONS',
          'access-control-allow-headers': '*',
          'access-control-max-age': '86400',
        },
        body: undefined,
      };
    default:
      return {
        status: 405,
        headers: { allow: 'GET, HEAD, OPTIONS', 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'method_not_allowed' }),
      };
  }
}
