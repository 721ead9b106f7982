/**
 * The doctor on machines without one loopback family, in network namespaces of their own (the
 * built kit inside): the browser round trip where there is no IPv4 loopback, with a stand-in
 * "browser" that follows redirects as one does (fetch), and the localhost check where the name
 * resolves only to the missing family.
 */
import { describe, expect, it } from 'vitest';
import { BUILT_KIT, inNetworkNamespace } from './support/namespace.js';

const NO_IPV4 = 'ip link set lo up && ip addr del 127.0.0.1/8 dev lo &&';

describe('the login doctor without IPv4 loopback', () => {
  it('runs the browser round trip on ::1, and closes everything after (the process ends)', async () => {
    const result = await inNetworkNamespace(
      NO_IPV4,
      `
      const { runDoctor } = await import(${JSON.stringify(BUILT_KIT)});
      try {
        const report = await runDoctor({
          env: { DISPLAY: ':0' },
          platform: 'linux',
          host: '[::1]',
          browserTest: true,
          browserTimeoutMs: 20000,
          // A browser: follows the test page's redirect to the callback and on to the result page.
          openBrowser: async (url) => { const r = await fetch(url); await r.text(); return true; },
        });
        console.log(JSON.stringify(report.checks.find((c) => c.id === 'browser.round_trip')));
      } catch (error) {
        console.log(JSON.stringify({ error: String(error) }));
      }
      // No process.exit: a listener left open would keep this process, and the test, waiting.
      `,
    );
    expect(result).toMatchObject({ status: 'ok', data: { cameBack: true, pageReached: true } });
    expect(String(result.summary)).toMatch(/came back to http:\/\/\[::1\]:\d+\/callback/);
  });

  it('warns where localhost binds ::1 alone but the system resolves it to 127.0.0.1 only', async () => {
    const result = await inNetworkNamespace(
      NO_IPV4,
      `
      import { lookup } from 'node:dns/promises';
      const { runDoctor } = await import(${JSON.stringify(BUILT_KIT)});
      const resolved = (await lookup('localhost', { all: true })).map((a) => a.address);
      const report = await runDoctor({ env: { DISPLAY: ':0' }, platform: 'linux', host: 'localhost' });
      console.log(JSON.stringify({ resolved, check: report.checks.find((c) => c.id === 'listener.localhost') }));
      `,
    );
    const check = result.check as {
      status: string;
      summary: string;
      data: { addresses: string[] };
    };
    expect(check.data.addresses).toEqual(['::1']);
    if ((result.resolved as string[]).includes('::1')) {
      // This machine's hosts file names ::1 for localhost too: the browser can reach it.
      expect(check.status).toBe('ok');
    } else {
      expect(check.status).toBe('warn');
      expect(check.summary).toContain('a browser that resolves localhost through the system');
    }
  });
});
