// @vitest-environment jsdom
import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { api, json, OPERATOR, renderConsole } from './console';

const ENVIRONMENT = {
  name: 'staging',
  tier: 'staging',
  issuer: 'http://gatehouse.test/e/staging',
  impersonationEnabled: true,
  registration: 'off',
  allowLoopbackDocuments: false,
  loopbackHosts: ['127.0.0.1', '[::1]', 'localhost'],
  metadataDocuments: true,
  clientCount: 1,
  userCount: 2,
  createdAt: 0,
};
const SUPPORT = { id: 'op_sam', email: 'sam@ops.example', role: 'support' } as const;
const COLLEAGUE = { id: 'op_sue', email: 'sue@ops.example', role: 'support' } as const;

function impersonation(id: string, operator: { id: string; email: string }, userEmail: string) {
  return {
    id,
    environment: 'staging',
    operatorId: operator.id,
    operatorEmail: operator.email,
    userId: `usr_${id}`,
    userEmail,
    clientId: 'cl_review',
    clientName: 'Review App',
    reason: 'ticket 42',
    startedAt: Date.now() - 60_000,
    expiresAt: Date.now() + 600_000,
    endedAt: null,
    endReason: null,
    active: true,
  };
}
const MINE = impersonation('imp_mine', SUPPORT, 'alice@example.com');
const THEIRS = impersonation('imp_theirs', COLLEAGUE, 'bob@example.com');

function answers(extra: Record<string, () => Response> = {}) {
  return {
    'GET /environments': () => json({ environments: [ENVIRONMENT] }),
    'GET /environments/staging/clients': () => json({ clients: [] }),
    'GET /environments/staging/users': () => json({ users: [] }),
    'GET /environments/staging/impersonations': () => json({ impersonations: [MINE, THEIRS] }),
    'GET /environments/staging/resources': () => json({ resources: [] }),
    ...extra,
  };
}

async function rows() {
  const section = await screen.findByRole('region', { name: 'Active impersonations' });
  const found = await within(section).findAllByTestId('impersonation-row');
  expect(found).toHaveLength(2);
  return found.map((row) => within(row));
}

describe('ending an impersonation', () => {
  it("a support operator may end their own, not another operator's", async () => {
    const { calls } = api(
      answers({
        'POST /environments/staging/impersonations/imp_mine/end': () =>
          json({ impersonation: { ...MINE, active: false, endedAt: Date.now() } }),
      }),
      { operator: SUPPORT, csrfToken: 'csrf-token' },
    );
    renderConsole('/environments/staging');
    const [mine, theirs] = await rows();
    expect(theirs?.queryByRole('button', { name: /End/ })).toBeNull();

    const end = mine?.getByRole('button', { name: 'End impersonation of alice@example.com' });
    if (end === undefined) throw new Error('no End button');
    await userEvent.setup().click(end);
    await expect
      .poll(() => calls)
      .toContain('POST /environments/staging/impersonations/imp_mine/end');
    expect(calls).not.toContain('POST /environments/staging/impersonations/imp_theirs/end');
  });

  it('an admin may end any', async () => {
    api(answers());
    renderConsole('/environments/staging');
    const [mine, theirs] = await rows();
    expect(
      mine?.getByRole('button', { name: 'End impersonation of alice@example.com' }),
    ).toBeTruthy();
    expect(
      theirs?.getByRole('button', { name: 'End impersonation of bob@example.com' }),
    ).toBeTruthy();
  });

  it('a viewer ends none, and sees no actions column', async () => {
    api(answers(), { operator: { ...OPERATOR, role: 'viewer' }, csrfToken: 'csrf-token' });
    renderConsole('/environments/staging');
    const section = within(await screen.findByRole('region', { name: 'Active impersonations' }));
    await rows();
    expect(section.queryByRole('button', { name: /End/ })).toBeNull();
    expect(section.queryByRole('columnheader', { name: 'Actions' })).toBeNull();
  });
});
