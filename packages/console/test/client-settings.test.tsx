// @vitest-environment jsdom
/**
 * The client page's sign-in settings: the no-PKCE exception is shown as a warning to everyone,
 * an admin's change is sent as the admin API takes it, a secret issued by leaving
 * private_key_jwt is shown once, and a viewer sees the settings but no form.
 */
import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { api, json, renderConsole, SESSION } from './console';

const ENVIRONMENT = {
  name: 'staging',
  tier: 'staging',
  issuer: 'https://id.example.com/e/staging',
  impersonationEnabled: false,
  registration: 'token',
  allowLoopbackDocuments: false,
  metadataDocuments: false,
  requirePar: true,
  requireDpop: false,
  refreshGraceSeconds: 5,
  loopbackHosts: ['127.0.0.1', '[::1]', 'localhost'],
  clientCount: 1,
  userCount: 0,
  createdAt: 0,
};
const KEY = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' };
const CLIENT = {
  clientId: 'cl_legacy',
  environment: 'staging',
  name: 'Legacy RP',
  type: 'web',
  grantTypes: ['authorization_code'],
  skipConsent: false,
  hasSecret: false,
  redirectUris: [],
  managedBy: null,
  promotedFrom: null,
  kind: 'registered',
  exchangeAudiences: null,
  allowedResources: null,
  scopes: [],
  idTokenSignedResponseAlg: null,
  postLogoutRedirectUris: ['https://rp.example.com/bye'],
  backchannelLogoutUri: null,
  jwks: { keys: [KEY] },
  jwksUri: null,
  tokenEndpointAuthMethod: 'private_key_jwt',
  requirePar: false,
  pkceExemptWithNonce: true,
  requireDpop: false,
  createdAt: 0,
  updatedAt: 0,
};
const answers = (patched: unknown[]) => ({
  'GET /environments': () => json({ environments: [ENVIRONMENT] }),
  'GET /environments/staging/clients/cl_legacy': () => json({ client: CLIENT }),
  'GET /environments/staging/clients/cl_legacy/refused-redirects': () => json({ refused: [] }),
  'GET /environments/staging/impersonations': () => json({ impersonations: [] }),
  'PATCH /environments/staging/clients/cl_legacy': ({ body }: { body: unknown }) => {
    patched.push(body);
    return json({
      client: { ...CLIENT, tokenEndpointAuthMethod: null, jwks: null, hasSecret: true },
      clientSecret: 'ghs_staging_new',
      warnings: [],
    });
  },
});

describe('client page: sign-in, logout and keys', () => {
  it('warns while the no-PKCE exception is on, and shows the settings', async () => {
    api(answers([]));
    renderConsole('/environments/staging/clients/cl_legacy');
    const warning = await screen.findByTestId('pkce-exemption-warning');
    expect(warning.getAttribute('role')).toBe('alert');
    expect(warning.textContent).toContain('PKCE is not required of this client');
    expect(screen.getByTestId('client-auth-method').textContent).toBe('private_key_jwt');
    expect(screen.getByTestId('client-keys').textContent).toBe('k1');
    expect(screen.getByTestId('client-post-logout-uris').textContent).toBe(
      'https://rp.example.com/bye',
    );
    expect(screen.getByTestId('client-require-par').textContent).toBe(
      'required by the environment',
    );
  });

  it('sends an admin’s change and shows a secret issued by leaving private_key_jwt once', async () => {
    const patched: unknown[] = [];
    api(answers(patched));
    renderConsole('/environments/staging/clients/cl_legacy');
    const section = await screen.findByTestId('protocol-settings');
    const user = userEvent.setup();
    await user.selectOptions(
      within(section).getByLabelText('Client authentication'),
      'Client secret (Basic or form)',
    );
    await user.clear(within(section).getByLabelText('Public keys (JWK Set)'));
    await user.click(within(section).getByLabelText(/Allow sign-in without PKCE/));
    await user.click(within(section).getByRole('button', { name: 'Save sign-in settings' }));
    expect(await within(section).findByTestId('client-secret')).toBeTruthy();
    expect(within(section).getByTestId('client-secret').textContent).toBe('ghs_staging_new');
    expect(patched).toEqual([
      {
        idTokenSignedResponseAlg: 'RS256',
        postLogoutRedirectUris: ['https://rp.example.com/bye'],
        backchannelLogoutUri: null,
        requirePar: false,
        requireDpop: false,
        tokenEndpointAuthMethod: null,
        jwks: null,
        jwksUri: null,
        pkceExemptWithNonce: false,
      },
    ]);
  });

  it('shows a viewer the warning and the settings, without the form', async () => {
    api(answers([]), { ...SESSION, operator: { ...SESSION.operator, role: 'viewer' } });
    renderConsole('/environments/staging/clients/cl_legacy');
    expect(await screen.findByTestId('pkce-exemption-warning')).toBeTruthy();
    expect(screen.queryByTestId('protocol-settings')).toBeNull();
  });
});
