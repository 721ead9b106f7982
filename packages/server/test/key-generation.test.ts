/**
 * Signing keys are generated off the event loop: an RSA 2048 key is 40-700 ms of CPU, and a
 * serving process that creates an environment, rotates its keys or repairs a missing key keeps
 * answering requests meanwhile. Start-up makes the missing keys of many environments a bounded
 * number at a time. Nothing here measures time: timer ticks and answered requests are counted
 * while a generation is pending (a synchronous generation leaves both at zero).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as SigningKeys from '../src/crypto/signing-keys.js';
import type { GeneratedKey, KeyAlg } from '../src/crypto/signing-keys.js';
import { createEnvironment } from '../src/services/environments.js';
import { runHousekeeping } from '../src/services/housekeeping.js';
import {
  ensureKeysOfEveryAlg,
  KEY_GENERATION_CONCURRENCY,
  listKeys,
  rotateKey,
} from '../src/services/keys.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

/** What each generation saw: the event loop's turns and the requests answered while it ran. */
interface Generation {
  readonly alg: KeyAlg;
  ticks: number;
  answered: number;
}
const generations: Generation[] = [];
let inFlight = 0;
let mostInFlight = 0;
/** Turns of the event loop and /healthz answers so far (bumped by the test's own loops). */
const seen = { ticks: 0, answered: 0 };
/** Whether /healthz is being probed (whileServing). */
const probing = { on: false };

vi.mock(import('../src/crypto/signing-keys.js'), async (importOriginal) => {
  const real = await importOriginal();
  const generateSigningKey = async (alg: KeyAlg = real.SIGNING_ALG): Promise<GeneratedKey> => {
    const before = { ...seen };
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    try {
      let key = await real.generateSigningKey(alg);
      // On a loaded machine one RSA generation can end before a single /healthz round trip does.
      // While the test probes, generate again (off the loop, as the real one does) until a probe
      // was answered meanwhile: an answer is then observed, never assumed. A generation that
      // blocked the loop would let no answer in, however often it ran, so the test still fails.
      for (
        let i = 0;
        probing.on && alg === 'RS256' && seen.answered === before.answered && i < 40;
        i++
      )
        key = await real.generateSigningKey(alg);
      return key;
    } finally {
      inFlight--;
      generations.push({
        alg,
        ticks: seen.ticks - before.ticks,
        answered: seen.answered - before.answered,
      });
    }
  };
  return {
    ...real,
    generateSigningKey,
    generateKeysOfEveryAlg: () => Promise.all(real.KEY_ALGS.map((alg) => generateSigningKey(alg))),
  };
});

describe('signing key generation and the event loop', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /**
   * Runs `work` while a timer ticks on every turn of the event loop and /healthz is asked again
   * and again; returns what `work` returned and the generations it made.
   */
  async function whileServing<T>(
    work: () => Promise<T>,
  ): Promise<{ result: T; made: Generation[]; answered: number }> {
    generations.length = 0;
    mostInFlight = 0;
    // Read through a function: the loops below see it change when `work` ends.
    const state = { done: false };
    const running = (): boolean => !state.done;
    const answeredBefore = seen.answered;
    const ticker = (): void => {
      seen.ticks++;
      if (running()) setImmediate(ticker);
    };
    setImmediate(ticker);
    probing.on = true;
    const prober = (async () => {
      while (running()) {
        const reply = await fetch(`${t.url}/healthz`);
        await reply.arrayBuffer();
        if (reply.status === 200 && running()) seen.answered++;
      }
    })();
    try {
      const result = await work();
      return { result, made: [...generations], answered: seen.answered - answeredBefore };
    } finally {
      state.done = true;
      probing.on = false;
      await prober;
    }
  }

  const rsaSigning = async (environment: string) =>
    (await listKeys(t.ctx, environment)).filter((k) => k.alg === 'RS256' && k.role === 'signing');

  it('keeps turning and answering /healthz while an environment is created', async () => {
    const { made, answered } = await whileServing(() =>
      createEnvironment(t.ctx, 'made-while-serving', 'staging'),
    );
    expect(made.map((g) => g.alg).sort()).toEqual(['ES256', 'RS256']);
    // The loop turned during the RSA generation (an EC key may be made within one turn), and
    // requests were answered meanwhile.
    for (const g of made) if (g.alg === 'RS256') expect(g.ticks).toBeGreaterThan(0);
    expect(answered).toBeGreaterThan(0);
    // Both keys were made at once, not one after the other.
    expect(mostInFlight).toBe(2);
    expect((await listKeys(t.ctx, 'made-while-serving')).map((k) => k.role)).toEqual([
      'signing',
      'signing',
    ]);
  });

  it('keeps turning and answering /healthz while keys are rotated, and makes one key of each algorithm', async () => {
    await createEnvironment(t.ctx, 'rotated-while-serving', 'staging');
    const { result, made, answered } = await whileServing(() =>
      rotateKey(t.ctx, 'rotated-while-serving', 60_000),
    );
    expect(made.map((g) => g.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const g of made) if (g.alg === 'RS256') expect(g.ticks).toBeGreaterThan(0);
    expect(answered).toBeGreaterThan(0);
    expect([result.alg, ...result.alongside.map((k) => k.alg)]).toEqual(['ES256', 'RS256']);
    const roles = (await listKeys(t.ctx, 'rotated-while-serving')).map((k) => `${k.alg} ${k.role}`);
    expect(roles.sort()).toEqual(['ES256 next', 'ES256 signing', 'RS256 next', 'RS256 signing']);
  });

  it('refuses a rotation while one waits without generating anything', async () => {
    await createEnvironment(t.ctx, 'rotation-pending', 'staging');
    await rotateKey(t.ctx, 'rotation-pending', 60_000);
    generations.length = 0;
    await expect(rotateKey(t.ctx, 'rotation-pending', 60_000)).rejects.toMatchObject({
      code: 'rotation_pending',
    });
    expect(generations).toHaveLength(0);
  });

  it('refuses an environment that exists before generating its keys', async () => {
    await createEnvironment(t.ctx, 'exists-already', 'staging');
    generations.length = 0;
    await expect(createEnvironment(t.ctx, 'exists-already', 'staging')).rejects.toMatchObject({
      code: 'environment_exists',
    });
    expect(generations).toHaveLength(0);
  });

  it('gives many environments from before 0013 their RSA keys a bounded number at a time, each dated just before its EC key, while serving', async () => {
    // Environments from before RS256 keys (migration 0013): only their EC key is live.
    const names = Array.from({ length: 10 }, (_, i) => `legacy-${i}`);
    for (const name of names) {
      await createEnvironment(t.ctx, name, 'production');
      for (const key of await t.ctx.stores.keys.listAll(name))
        if (key.alg === 'RS256') await t.ctx.stores.keys.retire(name, key.kid, Date.now());
    }
    const { result: added, made, answered } = await whileServing(() => ensureKeysOfEveryAlg(t.ctx));
    expect(added).toHaveLength(names.length);
    expect(made.every((g) => g.alg === 'RS256')).toBe(true);
    // As many at once as the thread pool has threads, never more.
    expect(mostInFlight).toBe(KEY_GENERATION_CONCURRENCY);
    expect(answered).toBeGreaterThan(0);
    expect(made.reduce((sum, g) => sum + g.ticks, 0)).toBeGreaterThan(0);
    for (const [i, name] of names.entries()) {
      const live = (await t.ctx.stores.keys.listAll(name)).filter((k) => k.status === 'active');
      const ec = live.find((k) => k.alg === 'ES256');
      const rsa = live.find((k) => k.alg === 'RS256');
      // Written in the environments' order, whatever order they were generated in.
      expect(rsa?.kid).toBe(added[i]);
      // A process of the version before RS256 keys signs with the newest key of any algorithm:
      // it must still be the EC one (services/keys.ts, activationBeside).
      expect(rsa?.activatesAt).toBe((ec?.activatesAt ?? ec?.createdAt ?? 0) - 1);
      expect(await rsaSigning(name)).toHaveLength(1);
    }
    // Nothing is missing any more.
    generations.length = 0;
    expect(await ensureKeysOfEveryAlg(t.ctx)).toEqual([]);
    expect(generations).toHaveLength(0);
  });

  it('makes them one at a time when asked to', async () => {
    await createEnvironment(t.ctx, 'one-at-a-time-a', 'staging');
    await createEnvironment(t.ctx, 'one-at-a-time-b', 'staging');
    for (const name of ['one-at-a-time-a', 'one-at-a-time-b'])
      for (const key of await t.ctx.stores.keys.listAll(name))
        if (key.alg === 'RS256') await t.ctx.stores.keys.retire(name, key.kid, Date.now());
    mostInFlight = 0;
    expect(await ensureKeysOfEveryAlg(t.ctx, { concurrency: 1 })).toHaveLength(2);
    expect(mostInFlight).toBe(1);
  });

  it('repairs a missing key in housekeeping while the process keeps answering', async () => {
    await createEnvironment(t.ctx, 'repaired-while-serving', 'staging');
    for (const key of await t.ctx.stores.keys.listAll('repaired-while-serving'))
      if (key.alg === 'RS256')
        await t.ctx.stores.keys.retire('repaired-while-serving', key.kid, Date.now());
    const { result, made, answered } = await whileServing(() => runHousekeeping(t.ctx));
    expect(result.keysAdded).toBe(1);
    expect(made.map((g) => g.alg)).toEqual(['RS256']);
    expect(made[0]?.ticks).toBeGreaterThan(0);
    expect(answered).toBeGreaterThan(0);
    expect(await rsaSigning('repaired-while-serving')).toHaveLength(1);
  });
});

describe('generateSigningKey', () => {
  it('returns before the key is made: the event loop turns while RSA and EC keys are generated', async () => {
    const { generateSigningKey } = await vi.importActual<typeof SigningKeys>(
      '../src/crypto/signing-keys.js',
    );
    let ticks = 0;
    let done = false;
    const ticker = (): void => {
      ticks++;
      if (!done) setImmediate(ticker);
    };
    setImmediate(ticker);
    // A synchronous generation would finish here, before the first tick.
    const pending = Promise.all([
      generateSigningKey('RS256'),
      generateSigningKey('RS256'),
      generateSigningKey('ES256'),
    ]);
    const ticksAtCall = ticks;
    const keys = await pending;
    done = true;
    expect(ticksAtCall).toBe(0);
    expect(ticks).toBeGreaterThan(0);
    const [rsa, , ec] = keys.map((k) => JSON.parse(k.privateJwk) as Record<string, string>);
    expect(Buffer.from(rsa?.n ?? '', 'base64url').length).toBe(256);
    expect(rsa).toMatchObject({ kty: 'RSA', alg: 'RS256', e: 'AQAB' });
    expect(ec).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(new Set(keys.map((k) => k.kid)).size).toBe(3);
  });
});
