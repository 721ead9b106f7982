/**
 * The refresh grace window (issue #17) across two `gatehouse serve` processes on one PostgreSQL:
 * the successors of one rotated token are counted by the database, in one conditional UPDATE, so
 * concurrent requests on both processes together get at most the cap, and each gets a successor
 * of its own that works on either process. The processes run with real clocks: the window is set
 * with the CLI to 60 s, long past what the concurrent requests take, and to 1 s for the reuse
 * after it (refresh-grace.test.ts crosses the window to the millisecond with a test clock).
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRACE_SUCCESSORS_CAP } from '../src/grants/refresh-grace.js';
import { throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import {
  Browser,
  codeFrom,
  codeRequest,
  tokensOf,
  userinfo,
  WebClient,
  type Reply,
  type Tokens,
} from './support/oauth.js';
import {
  dataLocation,
  Deployment,
  sleep,
  within,
  type GatehouseProcess,
} from './support/processes.js';

const PASSWORD = 'correct horse battery';
const CALLBACK = 'https://agent.example.com/callback';
/** The bound on propagation between processes (issue #7). */
const PROPAGATION_MS = 1_000;

describe('the refresh grace window across two processes on one PostgreSQL', () => {
  let database: ThrowawayDatabase | undefined;
  let deployment: Deployment | undefined;
  let a: GatehouseProcess;
  let b: GatehouseProcess;
  let app: WebClient;
  let browser: Browser;

  const cli = (): Deployment => {
    if (deployment === undefined) throw new Error('no deployment');
    return deployment;
  };
  const setGrace = (seconds: number) =>
    cli().cliJson(['env', 'settings', 'development', '--refresh-grace', String(seconds)]);

  /** A new grant: authorized on A, redeemed on B. */
  const signIn = async (): Promise<Tokens> => {
    const request = codeRequest(app.clientId, CALLBACK);
    const { code } = codeFrom(
      await browser.on(a.url).authorize(request.query, 'eve@example.com', PASSWORD),
    );
    return tokensOf(await app.redeem(b.url, code, request.verifier, CALLBACK));
  };
  /** `count` refreshes of one token at once, alternating between the processes. */
  const concurrently = (token: string, count: number): Promise<Reply[]> =>
    Promise.all(
      Array.from({ length: count }, (_, i) => app.refresh((i % 2 === 0 ? a : b).url, token)),
    );
  const issued = (reply: Reply): Tokens => tokensOf(reply);

  beforeAll(async () => {
    database = await throwawayPostgres();
    deployment = await Deployment.create(dataLocation(database));
    a = await deployment.start('A');
    b = await deployment.start('B');
    await setGrace(60);
    const created = await deployment.cliJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'web',
      '--name',
      'Agent with many windows',
      '--redirect-uri',
      CALLBACK,
      '--grant',
      'authorization_code',
      '--grant',
      'refresh_token',
    ]);
    app = new WebClient(created.client_id, created.client_secret);
    await deployment.cliJson(
      ['users', 'create', '--env', 'development', '--email', 'eve@example.com', '--password-stdin'],
      `${PASSWORD}\n`,
    );
    browser = new Browser(a.url);
  }, 180_000);

  afterAll(async () => {
    await deployment?.stopAll();
    await database?.drop();
  });

  it('ten concurrent refreshes of one token, five on each process, each get a successor that works on both', async () => {
    const first = await signIn();
    const replies = await concurrently(first.refresh_token ?? '', 10);
    expect(
      replies.map((r) => r.status),
      JSON.stringify(replies.filter((r) => r.status !== 200).map((r) => r.body)),
    ).toEqual(Array.from({ length: 10 }, () => 200));
    const successors = replies.map(issued);
    expect(new Set(successors.map((s) => s.refresh_token)).size).toBe(10);
    expect(new Set(successors.map((s) => s.access_token)).size).toBe(10);
    const grantId = decodeJwt(first.access_token).grant_id;
    for (const s of successors) expect(decodeJwt(s.access_token).grant_id).toBe(grantId);
    // The grant lives: every access token is good on both processes, and every successor
    // rotates, on the process that did not issue it.
    for (const p of [a, b]) {
      expect((await userinfo(p.url, first.access_token)).status).toBe(200);
      for (const s of successors) expect(await app.active(p.url, s.access_token)).toBe(true);
    }
    const next = await Promise.all(
      successors.map((s, i) => app.refresh((i % 2 === 0 ? b : a).url, s.refresh_token ?? '')),
    );
    expect(next.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
  });

  it(`attack: of ${GRACE_SUCCESSORS_CAP + 10} presentations at once on both processes, exactly ${GRACE_SUCCESSORS_CAP + 1} get tokens; the grant then ends on both`, async () => {
    const first = await signIn();
    const replies = await concurrently(first.refresh_token ?? '', GRACE_SUCCESSORS_CAP + 10);
    const winners = replies.filter((r) => r.status === 200).map(issued);
    expect(winners).toHaveLength(GRACE_SUCCESSORS_CAP + 1);
    expect(replies.filter((r) => r.status !== 200).map((r) => r.body.error)).toEqual(
      Array.from({ length: 9 }, () => 'invalid_grant'),
    );
    const since = Date.now();
    for (const p of [a, b])
      await within(
        PROPAGATION_MS,
        `every token of the grant is inactive on ${p.name}`,
        async () => {
          for (const w of winners)
            if (
              (await app.active(p.url, w.access_token)) ||
              (await app.active(p.url, w.refresh_token ?? ''))
            )
              return false;
          return true;
        },
        since,
      );
  });

  it('a token rotated on A and presented on B after a 1 s window revokes the grant on both', async () => {
    await setGrace(1);
    try {
      const first = await signIn();
      const rotated = tokensOf(await app.refresh(a.url, first.refresh_token ?? ''));
      // Past the window (the processes have real clocks; the setting is in force on both
      // within the propagation bound, well before this).
      await sleep(1_500);
      const reuse = await app.refresh(b.url, first.refresh_token ?? '');
      expect(reuse.status).toBe(400);
      expect(reuse.body.error).toBe('invalid_grant');
      const since = Date.now();
      for (const p of [a, b])
        await within(
          PROPAGATION_MS,
          `the grant is revoked on ${p.name}`,
          async () =>
            !(await app.active(p.url, rotated.access_token)) &&
            !(await app.active(p.url, rotated.refresh_token ?? '')),
          since,
        );
    } finally {
      await setGrace(60);
    }
  });
});
