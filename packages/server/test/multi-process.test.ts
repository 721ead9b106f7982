/**
 * Issue #7, "Several processes, one PostgreSQL": two `gatehouse serve` processes on one database
 * behave as one server. Each flow here crosses between them (authorize on one, token on the
 * other; revoke on one, introspect on the other; change a client or a user with the CLI, use it
 * on both), and every change must be in force on both within one second. Before each change the
 * other process is made to use the old state, so a cache that is not invalidated shows.
 *
 * The processes are real: `gatehouse serve --database-url ...` with one GATEHOUSE_SECRET_KEY and
 * one public base URL (the load balancer's), and the admin commands run as an operator runs them.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import {
  Browser,
  codeFrom,
  codeRequest,
  jwksKids,
  kidOf,
  tokensOf,
  userinfo,
  WebClient,
  type Tokens,
} from './support/oauth.js';
import { dataLocation, Deployment, within, type GatehouseProcess } from './support/processes.js';

/** The bound the issue sets: a change on one process is in force on the others within 1 s. */
const PROPAGATION_MS = 1_000;
const PASSWORD = 'correct horse battery';
const CALLBACK = 'https://app.example.com/callback';
const OTHER = 'https://app.example.com/other';
const ADDED = 'https://app.example.com/added';

describe('two gatehouse processes on one PostgreSQL', () => {
  let database: ThrowawayDatabase | undefined;
  let deployment: Deployment | undefined;
  let a: GatehouseProcess;
  let b: GatehouseProcess;
  let app: WebClient;
  let alice: Browser;

  const cli = () => {
    if (deployment === undefined) throw new Error('no deployment');
    return deployment;
  };

  const createUser = (email: string) =>
    cli().cliJson<{ id: string }>(
      ['users', 'create', '--env', 'development', '--email', email, '--password-stdin'],
      `${PASSWORD}\n`,
    );

  /** Authorize with `browser` on `from` (signing in and consenting when asked), redeem on `to`. */
  const codeFlow = async (
    browser: Browser,
    email: string,
    from: GatehouseProcess,
    to: GatehouseProcess,
  ): Promise<Tokens> => {
    const request = codeRequest(app.clientId, CALLBACK);
    const location = await browser.on(from.url).authorize(request.query, email, PASSWORD);
    const { code } = codeFrom(location);
    return tokensOf(await app.redeem(to.url, code, request.verifier, CALLBACK));
  };

  beforeAll(async () => {
    database = await throwawayPostgres();
    deployment = await Deployment.create(dataLocation(database));
    // One after the other: starting together on an empty database is the test at the end.
    a = await deployment.start('A');
    b = await deployment.start('B');
    // A rotated refresh token reused at once is a reuse only without the grace window (issue #17;
    // refresh-grace-processes.test.ts has the window across processes).
    await deployment.cliJson(['env', 'settings', 'development', '--refresh-grace', '0']);
    const created = await deployment.cliJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'web',
      '--name',
      'Cross-process app',
      '--redirect-uri',
      CALLBACK,
      '--redirect-uri',
      OTHER,
      '--grant',
      'authorization_code',
      '--grant',
      'refresh_token',
      '--grant',
      'client_credentials',
    ]);
    app = new WebClient(created.client_id, created.client_secret);
    await Promise.all(
      ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com'].map(
        createUser,
      ),
    );
    alice = new Browser(a.url);
  }, 60_000);

  afterAll(async () => {
    await deployment?.stopAll();
    await database?.drop();
  });

  it('both processes are one issuer with one key set', async () => {
    for (const p of [a, b]) {
      const response = await fetch(`${p.url}/e/development/.well-known/openid-configuration`);
      expect(response.status).toBe(200);
      const metadata = (await response.json()) as { issuer: string };
      expect(metadata.issuer).toBe(cli().issuer());
    }
    const [jwksA, jwksB] = await Promise.all(
      [a, b].map(async (p) => (await fetch(`${p.url}/e/development/jwks`)).json()),
    );
    expect(jwksB).toEqual(jwksA);
  });

  it('a code issued by A is redeemed on B once; a replay on A is refused and revokes what B issued', async () => {
    const request = codeRequest(app.clientId, CALLBACK);
    const location = await alice.on(a.url).authorize(request.query, 'alice@example.com', PASSWORD);
    const { code, iss, state } = codeFrom(location);
    expect(iss).toBe(cli().issuer());
    expect(state).toBe(request.state);

    const tokens = tokensOf(await app.redeem(b.url, code, request.verifier, CALLBACK));
    expect(tokens.refresh_token).toBeDefined();
    expect(decodeJwt(tokens.access_token).iss).toBe(cli().issuer());
    // B's token is good on A (and A has now looked at it).
    expect((await userinfo(a.url, tokens.access_token)).status).toBe(200);
    expect(await app.active(a.url, tokens.access_token)).toBe(true);
    expect(await app.active(b.url, tokens.refresh_token ?? '')).toBe(true);

    const replay = await app.redeem(a.url, code, request.verifier, CALLBACK);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    const since = Date.now();
    for (const p of [a, b]) {
      await within(
        PROPAGATION_MS,
        `the tokens of a replayed code are inactive on ${p.name}`,
        async () =>
          !(await app.active(p.url, tokens.access_token)) &&
          !(await app.active(p.url, tokens.refresh_token ?? '')),
        since,
      );
      expect((await userinfo(p.url, tokens.access_token)).status).toBe(401);
    }
    const refreshed = await app.refresh(b.url, tokens.refresh_token ?? '');
    expect(refreshed.body.error).toBe('invalid_grant');
  });

  it('a browser sent to a different process at each step signs in, consents and gets its code', async () => {
    const dave = new Browser(a.url);
    const request = codeRequest(app.clientId, CALLBACK);
    // authorize on A, sign in on B, consent on A, redeem on B: the pending request, the session
    // and the CSRF secret must not live in one process's memory.
    const location = await dave.authorize(request.query, 'dave@example.com', PASSWORD, {
      login: b.url,
      consent: a.url,
    });
    const { code, state } = codeFrom(location);
    expect(state).toBe(request.state);
    const tokens = tokensOf(await app.redeem(b.url, code, request.verifier, CALLBACK));
    const claims = await userinfo(a.url, tokens.access_token);
    expect(claims.status).toBe(200);
    expect(claims.body.email).toBe('dave@example.com');
    // The session made on B gives a code on A at once (consent remembered, no sign-in).
    const again = codeRequest(app.clientId, CALLBACK);
    expect((await dave.on(a.url).start(again.query)).location).toMatch(/[?&]code=/);
  });

  it('of concurrent redemptions of one code on both processes, exactly one succeeds', async () => {
    const request = codeRequest(app.clientId, CALLBACK);
    const { code } = codeFrom(
      await alice.on(b.url).authorize(request.query, 'alice@example.com', PASSWORD),
    );
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        app.redeem((i % 2 === 0 ? a : b).url, code, request.verifier, CALLBACK),
      ),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status !== 200).map((r) => r.body.error)).toEqual(
      Array.from({ length: 15 }, () => 'invalid_grant'),
    );
  });

  it('a refresh token rotated on A cannot be used again on B; the reuse ends the grant on both', async () => {
    const first = await codeFlow(alice, 'alice@example.com', b, a);
    // B has seen the refresh token while it was good.
    expect(await app.active(b.url, first.refresh_token ?? '')).toBe(true);

    const rotated = tokensOf(await app.refresh(a.url, first.refresh_token ?? ''));
    expect(rotated.refresh_token).toBeDefined();
    expect(rotated.refresh_token).not.toBe(first.refresh_token);
    expect(await app.active(b.url, rotated.access_token)).toBe(true);

    const reuse = await app.refresh(b.url, first.refresh_token ?? '');
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    const since = Date.now();
    for (const p of [a, b])
      await within(
        PROPAGATION_MS,
        `the whole grant is revoked on ${p.name} after a reuse`,
        async () =>
          !(await app.active(p.url, rotated.refresh_token ?? '')) &&
          !(await app.active(p.url, rotated.access_token)) &&
          !(await app.active(p.url, first.access_token)),
        since,
      );
    expect((await app.refresh(a.url, rotated.refresh_token ?? '')).body.error).toBe(
      'invalid_grant',
    );
  });

  it('a revocation on one process is in force on the other within one second', async () => {
    const user = await codeFlow(alice, 'alice@example.com', a, b);
    const service = tokensOf(await app.clientCredentials(b.url));
    // Both processes use the tokens first, so a cache that is not invalidated would show.
    for (const p of [a, b]) {
      expect((await userinfo(p.url, user.access_token)).status).toBe(200);
      expect(await app.active(p.url, user.access_token)).toBe(true);
      expect(await app.active(p.url, user.refresh_token ?? '')).toBe(true);
      expect(await app.active(p.url, service.access_token)).toBe(true);
    }

    // An access token revoked on A: inactive on B, and at B's userinfo.
    expect((await app.revoke(a.url, user.access_token)).status).toBe(200);
    let since = Date.now();
    await within(
      PROPAGATION_MS,
      'an access token revoked on A is inactive on B',
      async () =>
        !(await app.active(b.url, user.access_token)) &&
        (await userinfo(b.url, user.access_token)).status === 401,
      since,
    );
    // The refresh token is another thing: still good until it is revoked itself.
    expect(await app.active(b.url, user.refresh_token ?? '')).toBe(true);

    // A refresh token revoked on B: A refuses to refresh with it.
    expect((await app.revoke(b.url, user.refresh_token ?? '')).status).toBe(200);
    since = Date.now();
    await within(
      PROPAGATION_MS,
      'a refresh token revoked on B is inactive on A',
      async () => !(await app.active(a.url, user.refresh_token ?? '')),
      since,
    );
    const refresh = await app.refresh(a.url, user.refresh_token ?? '');
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('invalid_grant');

    // A client_credentials token issued by B, revoked on A.
    expect((await app.revoke(a.url, service.access_token)).status).toBe(200);
    since = Date.now();
    await within(
      PROPAGATION_MS,
      'a client_credentials token revoked on A is inactive on B',
      async () => !(await app.active(b.url, service.access_token)),
      since,
    );
  });

  it("a client's changed redirect URIs are in force on both processes within one second", async () => {
    const outcome = async (p: GatehouseProcess, redirectUri: string) => {
      const { query } = codeRequest(app.clientId, redirectUri);
      const started = await alice.on(p.url).start(query);
      return started.location === undefined
        ? { status: started.page.status, location: null }
        : { status: started.page.status, location: started.location.split('?')[0] };
    };
    // Both processes use OTHER first (alice has a session and has consented: straight to a code).
    for (const p of [a, b])
      expect(await outcome(p, OTHER)).toEqual({ status: 303, location: OTHER });
    for (const p of [a, b]) expect((await outcome(p, ADDED)).location).toBeNull();

    const changed = await cli().cli([
      'clients',
      'update',
      app.clientId,
      '--env',
      'development',
      '--remove-redirect-uri',
      OTHER,
      '--add-redirect-uri',
      ADDED,
    ]);
    expect(changed.code, changed.stderr).toBe(0);
    const since = Date.now();
    for (const p of [a, b]) {
      await within(
        PROPAGATION_MS,
        `the removed redirect URI is refused on ${p.name}`,
        async () => {
          const seen = await outcome(p, OTHER);
          // Refused: an error page, never a redirect to the URI.
          return { ok: seen.status === 400 && seen.location === null, seen };
        },
        since,
      );
      await within(
        PROPAGATION_MS,
        `the added redirect URI is accepted on ${p.name}`,
        async () => {
          const seen = await outcome(p, ADDED);
          return { ok: seen.location === ADDED, seen };
        },
        since,
      );
    }
  });

  it("a client's rotated secret is in force on both processes within one second", async () => {
    const created = await cli().cliJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'web',
      '--name',
      'Cross-process service',
      '--grant',
      'client_credentials',
    ]);
    const service = new WebClient(created.client_id, created.client_secret);
    for (const p of [a, b]) expect((await service.clientCredentials(p.url)).status).toBe(200);

    const rotated = await cli().cliJson<{ client_secret: string }>([
      'clients',
      'rotate-secret',
      created.client_id,
      '--env',
      'development',
    ]);
    const since = Date.now();
    for (const p of [a, b]) {
      await within(
        PROPAGATION_MS,
        `the old secret is refused on ${p.name}`,
        async () => {
          const reply = await service.clientCredentials(p.url);
          return { ok: reply.status === 401, seen: reply };
        },
        since,
      );
      expect(
        (await service.clientCredentials(p.url, rotated.client_secret)).status,
        `the new secret on ${p.name}`,
      ).toBe(200);
    }
  });

  it('a disabled user is refused on both processes within one second', async () => {
    const bob = new Browser(a.url);
    const tokens = await codeFlow(bob, 'bob@example.com', a, b);
    const refresh = new Map<GatehouseProcess, string>();
    // Both processes serve bob first: userinfo, a refresh each, a code from his session.
    for (const p of [a, b]) {
      expect((await userinfo(p.url, tokens.access_token)).status).toBe(200);
      const { query } = codeRequest(app.clientId, CALLBACK);
      expect((await bob.on(p.url).start(query)).location).toMatch(/^https:\/\/app\.example\.com/);
    }
    const fromA = tokensOf(await app.refresh(a.url, tokens.refresh_token ?? ''));
    // A second grant, so each process has a refresh token of bob's to refuse.
    const other = await codeFlow(bob, 'bob@example.com', b, a);
    refresh.set(a, fromA.refresh_token ?? '');
    refresh.set(b, other.refresh_token ?? '');

    const disabled = await cli().cli([
      'users',
      'disable',
      'bob@example.com',
      '--env',
      'development',
    ]);
    expect(disabled.code, disabled.stderr).toBe(0);
    const since = Date.now();
    for (const p of [a, b]) {
      await within(
        PROPAGATION_MS,
        `userinfo refuses the disabled user on ${p.name}`,
        async () => (await userinfo(p.url, fromA.access_token)).status === 401,
        since,
      );
      await within(
        PROPAGATION_MS,
        `introspection says inactive for the disabled user on ${p.name}`,
        async () => !(await app.active(p.url, other.access_token)),
        since,
      );
      await within(
        PROPAGATION_MS,
        `refresh is refused for the disabled user on ${p.name}`,
        async () => {
          const reply = await app.refresh(p.url, refresh.get(p) ?? '');
          // Not yet in force: the rotation succeeded, keep the new token for the next try.
          if (reply.status === 200) refresh.set(p, tokensOf(reply).refresh_token ?? '');
          return { ok: reply.body.error === 'invalid_grant', seen: reply };
        },
        since,
      );
      await within(
        PROPAGATION_MS,
        `the disabled user's session gives no code on ${p.name}`,
        async () => {
          const { query } = codeRequest(app.clientId, CALLBACK);
          const started = await bob.on(p.url).start(query);
          return { ok: started.location === undefined, seen: started.location };
        },
        since,
      );
      await within(
        PROPAGATION_MS,
        `sign-in is refused for the disabled user on ${p.name}`,
        async () => {
          const fresh = new Browser(p.url);
          const { query } = codeRequest(app.clientId, CALLBACK);
          const started = await fresh.start(query);
          const page = await started.page.text();
          if (!page.includes('name="password"')) return { ok: false, seen: started.location };
          const reply = await fresh.signIn(page, 'bob@example.com', PASSWORD);
          return { ok: reply.status === 401, seen: reply.status };
        },
        since,
      );
    }
  });

  it('a rotated signing key is published on both processes before it signs; older tokens keep verifying', async () => {
    interface KeyJson {
      kid: string;
      role: string;
      activates_at: string;
    }
    const issue = async (p: GatehouseProcess) => {
      const sent = Date.now();
      const token = tokensOf(await app.clientCredentials(p.url)).access_token;
      return { token, kid: kidOf(token), sent, received: Date.now() };
    };
    const user = await codeFlow(alice, 'alice@example.com', a, b);
    const [before] = await Promise.all([jwksKids(a.url), jwksKids(b.url)]);
    const oldKid = kidOf(user.access_token);
    expect(before).toContain(oldKid);
    // Both processes sign and verify with the current key first.
    const oldTokens = [user.access_token];
    for (const p of [a, b]) {
      const issued = await issue(p);
      expect(issued.kid).toBe(oldKid);
      oldTokens.push(issued.token);
      expect(await app.active(p.url, user.access_token)).toBe(true);
    }
    const stillVerify = async (tokens: readonly string[], what: string) => {
      for (const p of [a, b]) {
        expect((await userinfo(p.url, user.access_token)).status, `${what} on ${p.name}`).toBe(200);
        for (const token of tokens)
          expect(await app.active(p.url, token), `${what} on ${p.name}`).toBe(true);
      }
    };

    // Rotation with an overlap: the new key is published at once and signs after 3 s.
    const next = await cli().cliJson<KeyJson>([
      'keys',
      'rotate',
      '--env',
      'development',
      '--overlap',
      '3s',
    ]);
    const rotatedAt = Date.now();
    const activatesAt = Date.parse(next.activates_at);
    expect(next.kid).not.toBe(oldKid);
    expect(next.role).toBe('next');
    for (const p of [a, b])
      await within(
        PROPAGATION_MS,
        `the new key is in ${p.name}'s JWKS`,
        async () => {
          const kids = await jwksKids(p.url);
          return { ok: kids.includes(next.kid) && kids.includes(oldKid), seen: kids };
        },
        rotatedAt,
      );
    // Until it activates, every token is signed with the old key (only tokens answered before
    // the activation time are judged: how fast this machine is decides nothing).
    for (const p of [a, b, a, b]) {
      const issued = await issue(p);
      if (issued.received < activatesAt) expect(issued.kid, `signed on ${p.name}`).toBe(oldKid);
    }
    await stillVerify(oldTokens, 'a token of the old key during the overlap');

    // After the overlap both sign with the new key, within a second of its activation.
    const newTokens: string[] = [];
    for (const p of [a, b])
      await within(
        activatesAt - Date.now() + PROPAGATION_MS,
        `${p.name} signs with the new key after the overlap`,
        async () => {
          const issued = await issue(p);
          if (issued.kid === next.kid) newTokens.push(issued.token);
          return { ok: issued.kid === next.kid, seen: issued.kid };
        },
      );
    await stillVerify([...oldTokens, ...newTokens], 'old and new tokens after the overlap');
    for (const p of [a, b])
      expect(await jwksKids(p.url)).toEqual(expect.arrayContaining([oldKid, next.kid]));
    const listed = await cli().cliJson<KeyJson[]>(['keys', 'list', '--env', 'development']);
    expect(listed.find((k) => k.kid === next.kid)?.role).toBe('signing');
    expect(listed.find((k) => k.kid === oldKid)?.role).toBe('previous');
    // Its tokens have not expired: the previous key is not due for retirement.
    expect(await cli().cliJson<KeyJson[]>(['keys', 'retire', '--env', 'development'])).toEqual([]);

    // Rotation without an overlap: both sign with the newest key within a second.
    const immediate = await cli().cliJson<KeyJson>([
      'keys',
      'rotate',
      '--env',
      'development',
      '--overlap',
      '0s',
    ]);
    const immediateAt = Date.now();
    for (const p of [a, b])
      await within(
        PROPAGATION_MS,
        `${p.name} publishes and signs with a key rotated without overlap`,
        async () => {
          const issued = await issue(p);
          const kids = await jwksKids(p.url);
          return {
            ok: issued.kid === immediate.kid && kids.includes(immediate.kid),
            seen: { kid: issued.kid, kids },
          };
        },
        immediateAt,
      );
    await stillVerify([...oldTokens, ...newTokens], 'tokens of both earlier keys');

    // A compromised key retired by force: gone from both JWKS, its tokens refused on both.
    const retired = await cli().cli([
      'keys',
      'retire',
      '--env',
      'development',
      '--kid',
      oldKid,
      '--force',
    ]);
    expect(retired.code, retired.stderr).toBe(0);
    const retiredAt = Date.now();
    for (const p of [a, b]) {
      await within(
        PROPAGATION_MS,
        `the retired key leaves ${p.name}'s JWKS and its tokens stop verifying there`,
        async () => {
          const kids = await jwksKids(p.url);
          const refused =
            (await userinfo(p.url, user.access_token)).status === 401 &&
            !(await app.active(p.url, oldTokens[1] ?? ''));
          return { ok: !kids.includes(oldKid) && refused, seen: kids };
        },
        retiredAt,
      );
      for (const token of newTokens) expect(await app.active(p.url, token)).toBe(true);
    }
  });

  it('sign-in limits hold across processes: five failures spread over A and B throttle the sixth on either', async () => {
    const browser = new Browser(a.url);
    const { query } = codeRequest(app.clientId, CALLBACK);
    let page = await (await browser.start(query)).page.text();
    expect(page).toContain('name="password"');
    const statuses: number[] = [];
    for (const p of [a, b, a, b, a]) {
      const reply = await browser.on(p.url).signIn(page, 'carol@example.com', 'not her password');
      statuses.push(reply.status);
      page = await reply.text();
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // Throttled on both, even with the right password: the limit is the account's, not a process's.
    for (const p of [b, a]) {
      const reply = await browser.on(p.url).signIn(page, 'carol@example.com', PASSWORD);
      page = await reply.text();
      expect({ on: p.name, status: reply.status }).toEqual({ on: p.name, status: 429 });
      expect(page).toContain('Too many failed attempts');
    }
  });
});

describe('replicas started together on an empty PostgreSQL database', () => {
  let database: ThrowawayDatabase | undefined;
  let deployment: Deployment | undefined;

  afterAll(async () => {
    await deployment?.stopAll();
    await database?.drop();
  });

  it('all start, and the first-start bootstrap happens once', async () => {
    database = await throwawayPostgres();
    const started = await Deployment.create(dataLocation(database));
    deployment = started;
    // As an orchestrator rolls out a new deployment: every replica migrates and bootstraps the
    // same empty database at the same moment.
    const outcomes = await Promise.allSettled(['A', 'B', 'C'].map((name) => started.start(name)));
    const failures = outcomes.flatMap((o) =>
      o.status === 'rejected' ? [String(o.reason).slice(0, 400)] : [],
    );
    expect(failures).toEqual([]);
    const environments = await started.cliJson<{ name: string }[]>(['env', 'list']);
    expect(environments.map((e) => e.name).sort()).toEqual([
      'development',
      'production',
      'staging',
    ]);
    const users = await started.cliJson<{ email: string }[]>([
      'users',
      'list',
      '--env',
      'development',
    ]);
    expect(users.map((u) => u.email)).toEqual(['demo@example.com']);
    const clients = await started.cliJson<{ name: string }[]>([
      'clients',
      'list',
      '--env',
      'development',
    ]);
    expect(clients.map((c) => c.name)).toEqual(['Gatehouse demo CLI']);
  });
});
