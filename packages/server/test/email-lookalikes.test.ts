/**
 * Issue #13 item 7: "operators cannot be impersonated" compared emails exactly, and user creation
 * accepted look-alikes of an operator's email (zero-width characters, a trailing dot, full-width
 * letters). Emails are NFKC-normalised and such spellings refused; the operator check compares
 * the normalised form, even for a look-alike stored before the rule existed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import { setImpersonationEnabled, startImpersonation } from '../src/services/impersonation.js';
import { createOperator } from '../src/services/operators.js';
import { createUser } from '../src/services/users.js';
import type { Operator } from '../src/storage/operators.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'look-alike pass phrase 1';

const LOOKALIKES: [string, string][] = [
  ['a zero-width space', 'boss\u200b@ops.example'],
  ['a zero-width joiner', 'bo\u200dss@ops.example'],
  ['a byte-order mark', '\ufeffboss@ops.example'],
  ['a soft hyphen', 'bo\u00adss@ops.example'],
  ['a word joiner in the domain', 'boss@ops\u2060.example'],
  ['a right-to-left override', 'boss@\u202eops.example'],
  ['a trailing dot in the domain', 'boss@ops.example.'],
  ['an empty domain label', 'boss@ops..example'],
  ['a control character', 'boss\u0007@ops.example'],
  ['a leading space', ' boss@ops.example'],
  ['a trailing space', 'boss@ops.example '],
  ['a trailing newline', 'boss@ops.example\n'],
  ['a no-break space (a space once normalised)', 'boss\u00a0x@ops.example'],
];

describe('look-alike emails', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let support: Operator;
  let clientId: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await createOperator(t.ctx, { email: 'boss@ops.example', role: 'admin', password: PASSWORD });
    support = await createOperator(t.ctx, {
      email: 'helper@ops.example',
      role: 'support',
      password: PASSWORD,
    });
    await setImpersonationEnabled(t.ctx, 'staging', true);
    clientId = (
      await createClient(t.ctx, {
        environment: 'staging',
        type: 'web',
        name: 'Look-alike app',
        redirectUris: ['https://app.example.com/callback'],
      })
    ).client.clientId;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it.each(LOOKALIKES)('refuses a user email with %s', async (_what, email) => {
    await expect(
      createUser(t.ctx, { environment: 'staging', email, password: PASSWORD }),
    ).rejects.toMatchObject({ code: 'invalid_email' });
  });

  it.each(LOOKALIKES)('refuses an operator email with %s', async (_what, email) => {
    await expect(
      createOperator(t.ctx, { email, role: 'viewer', password: PASSWORD }),
    ).rejects.toMatchObject({ code: 'invalid_email' });
  });

  it('stores the NFKC form, so full-width letters are the operator', async () => {
    const user = await createUser(t.ctx, {
      environment: 'staging',
      email: '\uff42\uff4f\uff53\uff53@OPS.Example',
      password: PASSWORD,
    });
    expect(user.email).toBe('boss@OPS.Example');
    await expect(
      startImpersonation(t.ctx, support, {
        environment: 'staging',
        userId: user.id,
        clientId,
        reason: 'look-alike check',
      }),
    ).rejects.toMatchObject({ code: 'operator_user' });
  });

  it('refuses to impersonate a look-alike stored before the rule, as the operator it imitates', async () => {
    const now = Date.now();
    for (const [index, email] of [
      'boss\u200b@ops.example',
      'boss@ops.example.',
      'BOSS@OPS..EXAMPLE',
    ].entries()) {
      const id = `legacy-${index}`;
      const stored = await t.ctx.stores.users.create({
        id,
        environment: 'staging',
        email,
        name: null,
        passwordHash: null,
        disabled: false,
        createdAt: now,
        updatedAt: now,
      });
      expect(stored).toBe(true);
      await expect(
        startImpersonation(t.ctx, support, {
          environment: 'staging',
          userId: id,
          clientId,
          reason: 'legacy look-alike check',
        }),
      ).rejects.toMatchObject({ code: 'operator_user' });
    }
  });

  it('keeps ordinary addresses working, including plus tags, quotes and Unicode', async () => {
    for (const email of [
      'dana@example.com',
      'Dana.Smith+tag@Example.COM',
      "o'brien@example.ie",
      'jürgen@bücher.example',
      'x$y@example.com',
    ]) {
      const user = await createUser(t.ctx, { environment: 'development', email });
      expect(user.email).toBe(email.normalize('NFKC'));
    }
  });
});
