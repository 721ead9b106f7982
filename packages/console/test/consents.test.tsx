// @vitest-environment jsdom
import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { BASENAME } from '../src/paths';
import { api, json, OPERATOR, renderConsole, SESSION } from './console';

const ENVIRONMENT = {
  name: 'staging',
  tier: 'staging',
  issuer: 'http://gatehouse.test/e/staging',
  impersonationEnabled: true,
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
  createdAt: 0,
  updatedAt: 0,
};
const GRANTED_AT = Date.UTC(2025, 0, 2, 3, 4, 5);
/** An agent known by its metadata document URL: its id needs encoding in a path. */
const AGENT = 'https://agent.example/client.json';
const CONSENTS = [
  {
    clientId: AGENT,
    clientName: 'Travel Agent',
    agent: true,
    scopes: ['openid', 'profile'],
    resources: [{ uri: 'https://api.example/trips', scopes: ['trips:read', 'trips:write'] }],
    grantedAt: GRANTED_AT,
  },
  {
    clientId: 'cl_review',
    clientName: null,
    agent: false,
    scopes: ['openid'],
    resources: [],
    grantedAt: GRANTED_AT,
  },
];
const CONSENTS_PATH = '/environments/staging/users/usr_alice/consents';

function answers(consents: () => readonly unknown[]) {
  return {
    'GET /environments': () => json({ environments: [ENVIRONMENT] }),
    'GET /environments/staging/clients': () => json({ clients: [] }),
    'GET /environments/staging/users': () => json({ users: [ALICE] }),
    'GET /environments/staging/impersonations': () => json({ impersonations: [] }),
    'GET /environments/staging/resources': () => json({ resources: [] }),
    [`GET ${CONSENTS_PATH}`]: () => json({ consents: consents() }),
  };
}

async function openConsents() {
  const user = userEvent.setup();
  const toggle = await screen.findByRole('button', { name: `Consents of ${ALICE.email}` });
  expect(toggle.getAttribute('aria-expanded')).toBe('false');
  await user.click(toggle);
  expect(toggle.getAttribute('aria-expanded')).toBe('true');
  const section = await screen.findByRole('region', { name: `Consents of ${ALICE.email}` });
  return { user, section: within(section) };
}

describe("a user's consents", () => {
  it('lists each client (name and id), the scopes and resources granted, and when', async () => {
    api(answers(() => CONSENTS));
    renderConsole('/environments/staging');
    const { section } = await openConsents();

    const rows = await section.findAllByTestId('consent-row');
    expect(rows).toHaveLength(2);
    const [agent, review] = rows.map((row) => within(row));
    if (agent === undefined || review === undefined) throw new Error('two rows');
    expect(agent.getByRole('link', { name: 'Travel Agent' }).getAttribute('href')).toBe(
      `${BASENAME}/environments/staging/clients/${encodeURIComponent(AGENT)}`,
    );
    expect(agent.getByText(AGENT)).toBeTruthy();
    expect(agent.getByText('agent')).toBeTruthy();
    expect(agent.getByText('profile')).toBeTruthy();
    expect(agent.getByText('https://api.example/trips')).toBeTruthy();
    expect(agent.getByText('trips:write')).toBeTruthy();
    expect(agent.getByText((_, el) => el?.tagName === 'TIME').getAttribute('datetime')).toBe(
      new Date(GRANTED_AT).toISOString(),
    );
    // No name: the id is the link.
    expect(review.getByRole('link', { name: 'cl_review' })).toBeTruthy();
    expect(review.queryByText('agent')).toBeNull();
    expect(review.getByText('none')).toBeTruthy();
  });

  it('"No consents" when the user granted nothing', async () => {
    api(answers(() => []));
    renderConsole('/environments/staging');
    const { section } = await openConsents();
    expect(await section.findByText('No consents')).toBeTruthy();
  });

  it('an admin revokes one: DELETE with the client id encoded, then the list refetches', async () => {
    let consents = CONSENTS;
    const { calls, fetch } = api({
      ...answers(() => consents),
      [`DELETE ${CONSENTS_PATH}/${encodeURIComponent(AGENT)}`]: () => {
        consents = consents.filter((consent) => consent.clientId !== AGENT);
        return new Response(null, { status: 204 });
      },
    });
    renderConsole('/environments/staging');
    const { user, section } = await openConsents();
    expect(await section.findAllByTestId('consent-row')).toHaveLength(2);

    await user.click(
      section.getByRole('button', {
        name: `Revoke consent of ${ALICE.email} for Travel Agent`,
      }),
    );
    const dialog = within(await screen.findByTestId('confirm-dialog'));
    expect(dialog.getByText(/may no longer act for them by token exchange/)).toBeTruthy();
    await user.click(dialog.getByRole('button', { name: 'Revoke consent' }));

    await expect.poll(() => section.queryAllByTestId('consent-row').length).toBe(1);
    expect(calls).toContain(`DELETE ${CONSENTS_PATH}/https%3A%2F%2Fagent.example%2Fclient.json`);
    const deleted = calls.indexOf(`DELETE ${CONSENTS_PATH}/${encodeURIComponent(AGENT)}`);
    expect(calls.slice(deleted + 1)).toContain(`GET ${CONSENTS_PATH}`);
    const del = fetch.mock.calls.find(([, init]) => init?.method === 'DELETE');
    expect(new Headers(del?.[1]?.headers).get('X-Gatehouse-CSRF')).toBe(SESSION.csrfToken);
    expect(section.queryByText('Travel Agent')).toBeNull();
  });

  it.each(['viewer', 'support'] as const)('a %s sees consents without Revoke', async (role) => {
    api(
      answers(() => CONSENTS),
      { operator: { ...OPERATOR, role }, csrfToken: 'csrf-token' },
    );
    renderConsole('/environments/staging');
    const { section } = await openConsents();
    expect(await section.findAllByTestId('consent-row')).toHaveLength(2);
    expect(section.queryByRole('button', { name: /Revoke/ })).toBeNull();
  });
});
