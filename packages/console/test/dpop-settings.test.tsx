// @vitest-environment jsdom
/**
 * Issue #17's settings in the console: a client's "Require DPoP" shown and edited, a note on a
 * production public client whose tokens are not bound to a key, and the environment's
 * require-DPoP switch and refresh grace window (the field's range, 0 to 60, holds the form).
 */
import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { api, json, renderConsole, SESSION } from './console';

const ENVIRONMENT = {
  name: 'production',
  tier: 'production',
  issuer: 'https://id.example.com/e/production',
  impersonationEnabled: false,
  registration: 'token',
  allowLoopbackDocuments: false,
  metadataDocuments: false,
  requirePar: false,
  requireDpop: false,
  refreshGraceSeconds: 5,
  loopbackHosts: ['127.0.0.1', '[::1]', 'localhost'],
  clientCount: 1,
  userCount: 0,
  createdAt: 0,
};
const CLIENT = {
  clientId: 'cl_desk',
  environment: 'production',
  name: 'Desktop app',
  type: 'native',
  grantTypes: ['authorization_code', 'refresh_token'],
  skipConsent: false,
  hasSecret: false,
  redirectUris: [{ uri: 'http://127.0.0.1/callback', expiresAt: null }],
  managedBy: null,
  promotedFrom: null,
  kind: 'registered',
  exchangeAudiences: null,
  allowedResources: null,
  scopes: [],
  idTokenSignedResponseAlg: null,
  postLogoutRedirectUris: [],
  backchannelLogoutUri: null,
  jwks: null,
  jwksUri: null,
  tokenEndpointAuthMethod: null,
  requirePar: false,
  pkceExemptWithNonce: false,
  requireDpop: false,
  createdAt: 0,
  updatedAt: 0,
};

function clientAnswers(
  client: Record<string, unknown>,
  environment: Record<string, unknown> = ENVIRONMENT,
  patched: unknown[] = [],
) {
  return {
    'GET /environments': () => json({ environments: [environment] }),
    'GET /environments/production/clients/cl_desk': () => json({ client }),
    'GET /environments/production/clients/cl_desk/refused-redirects': () => json({ refused: [] }),
    'GET /environments/production/impersonations': () => json({ impersonations: [] }),
    'PATCH /environments/production/clients/cl_desk': ({ body }: { body: unknown }) => {
      patched.push(body);
      return json({ client: { ...client, requireDpop: true }, warnings: [] });
    },
  };
}

describe('client page: DPoP', () => {
  it('notes a production public client whose tokens are not bound to a key', async () => {
    api(clientAnswers(CLIENT));
    renderConsole('/environments/production/clients/cl_desk');
    const note = await screen.findByTestId('dpop-note');
    expect(note.textContent).toContain('not bound to a key');
    expect(screen.getByTestId('client-require-dpop').textContent).toBe('optional');
  });

  it.each([
    ['it requires DPoP', { ...CLIENT, requireDpop: true }, ENVIRONMENT, 'required'],
    [
      'the environment requires it',
      CLIENT,
      { ...ENVIRONMENT, requireDpop: true },
      'required by the environment',
    ],
    ['it is a web client', { ...CLIENT, type: 'web' }, ENVIRONMENT, 'optional'],
    ['it is not in production', CLIENT, { ...ENVIRONMENT, tier: 'staging' }, 'optional'],
  ])('no note when %s', async (_why, client, environment, shown) => {
    api(clientAnswers(client, environment));
    renderConsole('/environments/production/clients/cl_desk');
    expect((await screen.findByTestId('client-require-dpop')).textContent).toBe(shown);
    expect(screen.queryByTestId('dpop-note')).toBeNull();
  });

  it('an admin turns it on; the change is sent as the admin API takes it', async () => {
    const patched: unknown[] = [];
    api(clientAnswers(CLIENT, ENVIRONMENT, patched));
    renderConsole('/environments/production/clients/cl_desk');
    const section = await screen.findByTestId('protocol-settings');
    const user = userEvent.setup();
    await user.click(within(section).getByLabelText(/Require DPoP/));
    await user.click(within(section).getByRole('button', { name: 'Save sign-in settings' }));
    await expect.poll(() => patched.length).toBe(1);
    expect(patched[0]).toMatchObject({ requireDpop: true });
  });

  it('a viewer sees the setting and the note, without the form', async () => {
    api(clientAnswers(CLIENT), { ...SESSION, operator: { ...SESSION.operator, role: 'viewer' } });
    renderConsole('/environments/production/clients/cl_desk');
    expect(await screen.findByTestId('dpop-note')).toBeTruthy();
    expect(screen.queryByTestId('protocol-settings')).toBeNull();
  });
});

function environmentAnswers(patched: unknown[]) {
  return {
    'GET /environments': () => json({ environments: [ENVIRONMENT] }),
    'GET /environments/production/clients': () => json({ clients: [] }),
    'GET /environments/production/users': () => json({ users: [] }),
    'GET /environments/production/impersonations': () => json({ impersonations: [] }),
    'GET /environments/production/resources': () => json({ resources: [] }),
    'PATCH /environments/production': ({ body }: { body: unknown }) => {
      patched.push(body);
      const seconds = (body as { refreshGraceSeconds?: number }).refreshGraceSeconds;
      if (seconds !== undefined && seconds > 60)
        return json(
          {
            error: 'invalid_refresh_grace',
            message: 'the refresh grace must be a whole number of seconds from 0 (no grace) to 60',
          },
          400,
        );
      return json({ environment: { ...ENVIRONMENT, ...(body as object) } });
    },
  };
}

describe('environment settings: DPoP and the refresh grace window', () => {
  it('an admin requires DPoP and sets the grace window; a value out of range is not sent', async () => {
    const patched: unknown[] = [];
    api(environmentAnswers(patched));
    renderConsole('/environments/production');
    const user = userEvent.setup();
    const dpop = await screen.findByTestId('dpop-setting');
    await user.click(within(dpop).getByRole('switch', { name: 'Require DPoP' }));
    await expect.poll(() => patched).toContainEqual({ requireDpop: true });

    const grace = screen.getByTestId('refresh-grace-setting');
    const seconds = within(grace).getByLabelText('Seconds');
    expect((seconds as HTMLInputElement).value).toBe('5');
    await user.clear(seconds);
    await user.type(seconds, '0');
    await user.click(within(grace).getByRole('button', { name: 'Save grace window' }));
    await expect.poll(() => patched).toContainEqual({ refreshGraceSeconds: 0 });
    expect((await screen.findByText(/No refresh grace/)).textContent).toContain('revokes');

    await user.clear(seconds);
    await user.type(seconds, '90');
    // The browser holds the form to the field's range (0 to 60) before anything is sent.
    expect((seconds as HTMLInputElement).validity.rangeOverflow).toBe(true);
    await user.click(within(grace).getByRole('button', { name: 'Save grace window' }));
    expect(patched).not.toContainEqual({ refreshGraceSeconds: 90 });
  });

  it('a viewer sees both, without controls', async () => {
    api(environmentAnswers([]), {
      ...SESSION,
      operator: { ...SESSION.operator, role: 'viewer' },
    });
    renderConsole('/environments/production');
    const dpop = await screen.findByTestId('dpop-setting');
    expect(within(dpop).queryByRole('switch')).toBeNull();
    expect(within(dpop).getByText('Off')).toBeTruthy();
    const grace = screen.getByTestId('refresh-grace-setting');
    expect(within(grace).queryByRole('button')).toBeNull();
    expect(within(grace).getByText('5 seconds')).toBeTruthy();
  });
});
