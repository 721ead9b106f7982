import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { browserAvailable, openInBrowser, startListener, LoginError } from '../src/index.js';
import { BUILT_KIT, inNetworkNamespace } from './support/namespace.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, so the Host header and method can be anything. */
function raw(url: string, options: { method?: string; host?: string } = {}): Promise<Reply> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? 'GET',
        headers: { host: options.host ?? target.host },
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the loopback listener', () => {
  it('binds 127.0.0.1 on an ephemeral port by default', async () => {
    const listener = await startListener();
    expect(listener.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    await listener.close();
  });

  it('refuses stray requests without ending the flow, then takes the one with the right state', async () => {
    const listener = await startListener();
    const controller = new AbortController();
    const waiting = listener.waitForCallback('expected-state', controller.signal);
    const base = listener.redirectUri;

    const wrongState = await raw(`${base}?code=c&state=other`);
    expect(wrongState.status).toBe(400);
    expect(wrongState.body).toContain('does not belong to the sign-in in progress');
    expect(wrongState.headers['content-security-policy']).toContain("default-src 'none'");
    expect((await raw(`${base}?code=c`)).status).toBe(400);
    expect((await raw(`${base.replace('/callback', '/other')}?state=expected-state`)).status).toBe(
      404,
    );
    expect((await raw(`${base}?state=expected-state`, { method: 'POST' })).status).toBe(405);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host.
    expect(
      (await raw(`${base}?state=expected-state`, { host: `evil.example:${new URL(base).port}` }))
        .status,
    ).toBe(400);

    const good = raw(`${base}?code=the-code&state=expected-state`);
    const callback = await waiting;
    expect(callback.searchParams.get('code')).toBe('the-code');
    // A second callback while the first is being handled is refused.
    expect((await raw(`${base}?code=again&state=expected-state`)).status).toBe(400);

    listener.finish(true, 'Signed in to <b>somewhere</b>.');
    const redirected = await good;
    expect(redirected.status).toBe(303);
    expect(redirected.headers.location).toBe('/gatehouse-login-done');
    const done = await raw(new URL('/gatehouse-login-done', base).href);
    expect(done.status).toBe(200);
    expect(done.body).toContain('Signed in to &lt;b&gt;somewhere&lt;/b&gt;.');
    expect(done.body).not.toContain('the-code');
    await listener.close();
    await expect(raw(base)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  // Issue #13 item 7: `default-src` does not cover framing, so another site could frame the
  // result page (or the callback itself) and dress it up.
  it('forbids framing on every response, including the redirect and the result page', async () => {
    const listener = await startListener();
    const waiting = listener.waitForCallback('framed-state', new AbortController().signal);
    const base = listener.redirectUri;
    const replies = [
      await raw(`${base}?code=c&state=other`),
      await raw(base.replace('/callback', '/other')),
      await raw(`${base}?state=framed-state`, { method: 'POST' }),
      await raw(base, { host: `evil.example:${new URL(base).port}` }),
    ];
    const good = raw(`${base}?code=the-code&state=framed-state`);
    await waiting;
    listener.finish(true, 'Signed in.');
    replies.push(await good, await raw(new URL('/gatehouse-login-done', base).href));
    for (const reply of replies) {
      const csp = String(reply.headers['content-security-policy']);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("base-uri 'none'");
      expect(csp).toContain("form-action 'none'");
      expect(reply.headers['x-frame-options']).toBe('DENY');
    }
    await listener.close();
  });

  it('binds both loopback addresses for localhost on a fixed port, and names a busy port', async () => {
    const first = await startListener({ host: 'localhost', port: 0 });
    const port = Number(new URL(first.redirectUri).port);
    expect(first.redirectUri).toBe(`http://localhost:${port}/callback`);
    const second = startListener({ host: '127.0.0.1', port });
    await expect(second).rejects.toBeInstanceOf(LoginError);
    await expect(second).rejects.toMatchObject({
      code: 'port_in_use',
      message: expect.stringContaining(`port ${port}`) as unknown,
    });
    await first.close();
  });

  it('gives up on abort with the reason', async () => {
    const listener = await startListener();
    const controller = new AbortController();
    const waiting = listener.waitForCallback('s', controller.signal);
    controller.abort(new LoginError('timed out', 'timeout'));
    await expect(waiting).rejects.toMatchObject({ code: 'timeout' });
    await listener.close();
  });
});

describe('opening the browser', () => {
  it('opens only http(s) URLs', async () => {
    expect(await openInBrowser('javascript:alert(1)')).toBe(false);
    expect(await openInBrowser('file:///etc/passwd')).toBe(false);
  });

  it('knows where no browser can be reached', () => {
    expect(browserAvailable({ DISPLAY: ':0' }, 'linux')).toBe(true);
    expect(browserAvailable({}, 'linux')).toBe(false);
    expect(browserAvailable({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true);
    expect(browserAvailable({ DISPLAY: ':0', SSH_CONNECTION: '1 2 3 4' }, 'linux')).toBe(false);
    expect(browserAvailable({ CI: 'true' }, 'darwin')).toBe(false);
    expect(browserAvailable({ container: 'podman' }, 'darwin')).toBe(false);
    expect(browserAvailable({}, 'darwin')).toBe(true);
  });
});

/**
 * localhost where one loopback family is missing: the listener (built kit) runs in a network
 * namespace of its own (`unshare -rn`: a user namespace too, so this runs unprivileged), where
 * the loopback interface is set up as the case needs. It binds localhost, takes one callback on
 * whichever address exists, and prints what it bound.
 */
describe('the loopback listener for localhost with one loopback family missing', () => {
  const script = `
    import { request } from 'node:http';
    const { startListener } = await import(${JSON.stringify(BUILT_KIT)});
    try {
      const listener = await startListener({ host: 'localhost' });
      const port = new URL(listener.redirectUri).port;
      const waiting = listener.waitForCallback('s1', AbortSignal.timeout(20000));
      const status = await new Promise((resolve, reject) => {
        const req = request({ host: listener.addresses[0], port, path: '/callback?state=s1',
          headers: { host: 'localhost:' + port }, agent: false }, (res) => { res.resume(); resolve(res.statusCode); });
        req.on('error', reject);
        req.end();
        setTimeout(() => listener.finish(true, 'done'), 50);
      });
      const got = await waiting;
      await listener.close();
      console.log(JSON.stringify({ redirectUri: listener.redirectUri, addresses: listener.addresses, state: got.searchParams.get('state'), status }));
    } catch (error) {
      console.log(JSON.stringify({ error: error.code, message: error.message }));
    }
  `;

  const inNamespace = (setup: string) => inNetworkNamespace(setup, script);

  it('binds 127.0.0.1 alone where IPv6 loopback is off, and takes the callback there', async () => {
    const result = await inNamespace(
      'ip link set lo up && sysctl -qw net.ipv6.conf.lo.disable_ipv6=1 &&',
    );
    expect(result).toMatchObject({ addresses: ['127.0.0.1'], state: 's1', status: 303 });
    expect(result.redirectUri).toMatch(/^http:\/\/localhost:\d+\/callback$/);
  });

  it('binds ::1 alone where there is no IPv4 loopback', async () => {
    const result = await inNamespace('ip link set lo up && ip addr del 127.0.0.1/8 dev lo &&');
    expect(result).toMatchObject({ addresses: ['::1'], state: 's1', status: 303 });
    expect(result.redirectUri).toMatch(/^http:\/\/localhost:\d+\/callback$/);
  });

  it('fails, naming both, where neither exists', async () => {
    const result = await inNamespace(
      'ip link set lo up && ip addr del 127.0.0.1/8 dev lo && sysctl -qw net.ipv6.conf.lo.disable_ipv6=1 &&',
    );
    expect(result).toMatchObject({ error: 'listen_failed' });
    expect(result.message).toContain('neither 127.0.0.1 nor ::1 is available');
  });
});
