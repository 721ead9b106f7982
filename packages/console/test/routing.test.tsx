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
  clientCount: 1,
  userCount: 0,
  createdAt: 0,
};
const CLIENT = {
  clientId: 'cl_review',
  environment: 'staging',
  name: 'Review App',
  type: 'web',
  grantTypes: ['authorization_code'],
  skipConsent: false,
  hasSecret: true,
  redirectUris: [],
  managedBy: null,
  promotedFrom: null,
  kind: 'registered',
  exchangeAudiences: null,
  allowedResources: null,
  idTokenSignedResponseAlg: null,
  postLogoutRedirectUris: [],
  backchannelLogoutUri: null,
  jwks: null,
  jwksUri: null,
  tokenEndpointAuthMethod: null,
  requirePar: false,
  pkceExemptWithNonce: false,
  createdAt: 0,
  updatedAt: 0,
};
const ANSWERS = {
  'GET /environments': () => json({ environments: [ENVIRONMENT] }),
  'GET /environments/staging/clients': () => json({ clients: [CLIENT] }),
  'GET /environments/staging/clients/cl_review': () => json({ client: CLIENT }),
  'GET /environments/staging/clients/cl_review/refused-redirects': () => json({ refused: [] }),
  'GET /environments/staging/users': () => json({ users: [] }),
  'GET /environments/staging/impersonations': () => json({ impersonations: [] }),
  'GET /environments/staging/resources': () => json({ resources: [] }),
  'GET /operators': () => json({ operators: [] }),
  'GET /audit': () => json({ entries: [], verification: { ok: true, count: 0 } }),
};

const heading = (name: string) => screen.findByRole('heading', { level: 1, name });

describe('console routes', () => {
  it.each([
    ['/', 'Environments'],
    ['/environments', 'Environments'],
    ['/environments/staging', 'staging'],
    ['/environments/staging/clients/cl_review', 'Review App'],
    ['/audit', 'Audit log'],
    ['/operators', 'Operators'],
    ['/environments/staging/clients', 'Page not found'],
    ['/nothing/here', 'Page not found'],
  ])('%s shows the page headed %s', async (path, name) => {
    api(ANSWERS);
    renderConsole(path);
    expect(await heading(name)).toBeTruthy();
  });

  it('moves between pages by link, marking the current section', async () => {
    api(ANSWERS);
    const router = renderConsole('/environments');
    const user = userEvent.setup();
    await user.click(await screen.findByRole('link', { name: 'staging' }));
    expect(await heading('staging')).toBeTruthy();
    await user.click(await screen.findByRole('link', { name: 'Review App' }));
    expect(await heading('Review App')).toBeTruthy();
    expect(router.state.location.pathname).toBe('/environments/staging/clients/cl_review');
    await user.click(screen.getByRole('link', { name: 'Audit log' }));
    expect(await heading('Audit log')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Audit log' }).getAttribute('aria-current')).toBe(
      'page',
    );
  });

  it('asks for a sign-in without a session, whatever the URL', async () => {
    api(ANSWERS, null);
    renderConsole('/operators');
    expect(await heading('Sign in')).toBeTruthy();
  });

  it('shows an unknown client as not found', async () => {
    api(ANSWERS);
    renderConsole('/environments/staging/clients/cl_gone');
    expect(await heading('Client not found')).toBeTruthy();
  });
});
