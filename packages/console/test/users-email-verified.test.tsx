// @vitest-environment jsdom
import { screen } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { api, json, renderConsole } from './console';

const ENVIRONMENT = {
  name: 'staging',
  tier: 'staging',
  issuer: 'http://gatehouse.test/e/staging',
  impersonationEnabled: false,
  registration: 'off',
  allowLoopbackDocuments: false,
  loopbackHosts: ['127.0.0.1', '[::1]', 'localhost'],
  metadataDocuments: true,
  clientCount: 0,
  userCount: 1,
  createdAt: 0,
};
const ALICE = {
  id: 'usr_alice',
  environment: 'staging',
  email: 'alice@example.com',
  name: 'Alice',
  disabled: false,
  emailVerified: false,
  createdAt: 0,
  updatedAt: 0,
};

describe("a user's email_verified", () => {
  it('is shown and changed with PATCH when the checkbox is ticked', async () => {
    const patched: unknown[] = [];
    const { calls } = api({
      'GET /environments': () => json({ environments: [ENVIRONMENT] }),
      'GET /environments/staging/clients': () => json({ clients: [] }),
      'GET /environments/staging/users': () => json({ users: [ALICE] }),
      'GET /environments/staging/impersonations': () => json({ impersonations: [] }),
      'GET /environments/staging/resources': () => json({ resources: [] }),
      'PATCH /environments/staging/users/usr_alice': ({ body }) => {
        patched.push(body);
        return json({ user: { ...ALICE, emailVerified: true } });
      },
    });
    renderConsole('/environments/staging');
    const box = await screen.findByRole('checkbox', { name: `Email of ${ALICE.email} verified` });
    expect((box as HTMLInputElement).checked).toBe(false);
    await userEvent.setup().click(box);
    await expect.poll(() => calls).toContain('PATCH /environments/staging/users/usr_alice');
    expect(patched).toEqual([{ emailVerified: true }]);
  });
});
