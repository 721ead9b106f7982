import type * as oauth from 'oauth4webapi';

/** HTTP statuses whose Response may not have a body. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * fetch for oauth4webapi (`[oauth.customFetch]`) that reads at most `limit` bytes of the body (the
 * declared length first, then what actually arrives) and hands over a buffered copy; a larger
 * answer is an error. The server's answers are small JSON documents: an endless or huge one must
 * neither fill memory nor hold the command until its timeout. `what` names the answer in the error.
 */
export function boundedFetch(limit: number, what: string) {
  return async <Method extends string, Body>(
    url: string,
    init: oauth.CustomFetchOptions<Method, Body>,
  ): Promise<Response> => {
    const response = await fetch(url, {
      method: init.method,
      headers: init.headers,
      redirect: init.redirect,
      // oauth4webapi sends a form (URLSearchParams) or a string: both are fetch bodies.
      ...(init.body === undefined ? {} : { body: init.body as NonNullable<RequestInit['body']> }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    });
    const tooLarge = () => new RangeError(`${what} is larger than ${limit} bytes`);
    if (Number(response.headers.get('content-length') ?? '0') > limit) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body?.getReader();
    for (let read = await reader?.read(); read?.done === false; read = await reader?.read()) {
      // A fetch body's chunks are bytes (Fetch standard §5.2); Node's types leave them untyped.
      const chunk = read.value as Uint8Array;
      size += chunk.byteLength;
      if (size > limit) {
        await reader?.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(chunk);
    }
    return new Response(NULL_BODY_STATUSES.has(response.status) ? null : Buffer.concat(chunks), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
