/**
 * The token store and its locks under concurrency, and what a damaged file may reveal.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileTokenStore, startListener, withProfileLock, type StoredTokens } from '../src/index.js';

const tokens = (n: number): StoredTokens => ({
  issuer: 'https://as.example',
  clientId: 'c',
  accessToken: `at-${n}`,
  tokenType: 'bearer',
  expiresAt: 0,
});
const dir = () => mkdtemp(join(tmpdir(), 'gatehouse-store-'));

describe('FileTokenStore', () => {
  it('keeps every profile when many are written at once', async () => {
    const store = new FileTokenStore(await dir());
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`p${i}`, tokens(i))));
    expect(await store.list()).toHaveLength(20);
    expect((await store.get('p7'))?.accessToken).toBe('at-7');
  });

  it('refuses profile names that are not plain words, and object-prototype names find nothing', async () => {
    const store = new FileTokenStore(await dir());
    await expect(store.set('__proto__', tokens(1))).rejects.toThrow(TypeError);
    await expect(store.set('../x', tokens(1))).rejects.toThrow(TypeError);
    expect(await store.get('constructor')).toBeUndefined();
  });

  it('reports a damaged file without quoting it', async () => {
    const where = await dir();
    await writeFile(join(where, 'tokens.json'), '{"default": {"refreshToken": ghr_SECRET');
    await expect(new FileTokenStore(where).get('default')).rejects.toThrow(/damaged/);
    await expect(new FileTokenStore(where).get('default')).rejects.not.toThrow(/SECRET/);
    await writeFile(join(where, 'tokens.json'), 'null');
    await expect(new FileTokenStore(where).get('default')).rejects.toThrow(/damaged/);
  });
});

describe('withProfileLock', () => {
  it('never lets two holders overlap, even when the work outlasts the stale limit', async () => {
    const where = await dir();
    let inside = 0;
    let overlapped = false;
    const work = async () => {
      inside++;
      if (inside > 1) overlapped = true;
      await new Promise((resolve) => setTimeout(resolve, 1200));
      inside--;
    };
    // The work takes three stale limits. 400 ms, not 100: the holder's heartbeat (every quarter
    // of the limit) must get its turn in time, and on a loaded machine a 100 ms gap happened.
    await Promise.all(
      [0, 1, 2].map(() => withProfileLock(where, 'p', work, { staleMs: 400, waitMs: 8000 })),
    );
    expect(overlapped).toBe(false);
  });
});

describe('the loopback listener and malformed requests', () => {
  it('answers a malformed request line with 400 and keeps waiting', async () => {
    const listener = await startListener();
    const controller = new AbortController();
    const waiting = listener.waitForCallback('s', controller.signal);
    const { port, host } = new URL(listener.redirectUri);
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(
          `GET http://[/callback HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        ),
      );
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => {
        resolve(data);
      });
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    controller.abort(new Error('done'));
    await expect(waiting).rejects.toThrow('done');
    await listener.close();
  });

  it('refuses a host that is not loopback', async () => {
    await expect(startListener({ host: '0.0.0.0' as never })).rejects.toThrow(TypeError);
  });
});
