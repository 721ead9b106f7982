// @vitest-environment jsdom
import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { api, json, renderConsole } from './console';

const ENVIRONMENT = {
  name: 'staging',
  tier: 'staging',
  issuer: 'http://gatehouse.test/e/staging',
  impersonationEnabled: true,
  registration: 'off',
  allowLoopbackDocuments: false,
  loopbackHosts: ['127.0.0.1', '[::1]', 'localhost'],
  metadataDocuments: true,
  clientCount: 3,
  userCount: 0,
  createdAt: 0,
};
function client(clientId: string, name: string, type: 'web' | 'native', hasSecret: boolean) {
  return {
    clientId,
    environment: 'staging',
    name,
    type,
    grantTypes: ['client_credentials'],
    skipConsent: false,
    hasSecret,
    redirectUris: [],
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
    createdAt: 0,
    updatedAt: 0,
  };
}
const API = 'https://api.example.com/';
const RESOURCE = {
  environment: 'staging',
  uri: API,
  name: 'API',
  scopes: ['read'],
  clientId: null,
  accessTokenAlg: null,
  createdAt: 0,
};

describe("a resource's client", () => {
  it('offers the confidential clients only and links the one chosen', async () => {
    const patched: unknown[] = [];
    const { calls } = api({
      'GET /environments': () => json({ environments: [ENVIRONMENT] }),
      'GET /environments/staging/clients': () =>
        json({
          clients: [
            client('cl_api', 'API server', 'web', true),
            client('cl_cli', 'CLI', 'native', false),
          ],
        }),
      'GET /environments/staging/users': () => json({ users: [] }),
      'GET /environments/staging/impersonations': () => json({ impersonations: [] }),
      'GET /environments/staging/resources': () => json({ resources: [RESOURCE] }),
      'PATCH /environments/staging/resources': ({ query, body }) => {
        patched.push({ uri: query.get('uri'), body });
        return json({ resource: { ...RESOURCE, clientId: 'cl_api' } });
      },
    });
    renderConsole('/environments/staging');
    const section = await screen.findByTestId('resources');
    const select = await within(section).findByRole('combobox', { name: `Client of ${API}` });
    expect(
      within(select)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['No client', 'API server']);
    await userEvent.setup().selectOptions(select, 'cl_api');
    await expect.poll(() => calls).toContain('PATCH /environments/staging/resources');
    expect(patched).toEqual([{ uri: API, body: { clientId: 'cl_api' } }]);
  });
});

describe("a resource's access-token algorithm", () => {
  it('shows ES256 by default and asks for RS256 when chosen', async () => {
    const patched: unknown[] = [];
    const { calls } = api({
      'GET /environments': () => json({ environments: [ENVIRONMENT] }),
      'GET /environments/staging/clients': () => json({ clients: [] }),
      'GET /environments/staging/users': () => json({ users: [] }),
      'GET /environments/staging/impersonations': () => json({ impersonations: [] }),
      'GET /environments/staging/resources': () => json({ resources: [RESOURCE] }),
      'PATCH /environments/staging/resources': ({ query, body }) => {
        patched.push({ uri: query.get('uri'), body });
        return json({ resource: { ...RESOURCE, accessTokenAlg: 'RS256' } });
      },
    });
    renderConsole('/environments/staging');
    const section = await screen.findByTestId('resources');
    const select = await within(section).findByRole('combobox', {
      name: `Access token algorithm of ${API}`,
    });
    expect((select as HTMLSelectElement).value).toBe('ES256');
    await userEvent.setup().selectOptions(select, 'RS256');
    await expect.poll(() => calls).toContain('PATCH /environments/staging/resources');
    expect(patched).toEqual([{ uri: API, body: { accessTokenAlg: 'RS256' } }]);
  });
});
