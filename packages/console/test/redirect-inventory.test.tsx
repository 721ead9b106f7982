// @vitest-environment jsdom
import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { api, json, renderConsole } from './console';

const FLAGS = {
  unused: 0,
  localhost_loopback: 1,
  wildcard: 0,
  http_not_loopback: 0,
  loopback_for_web_client: 0,
  violates_policy: 1,
  expiring_soon: 0,
  promotion_drift: 0,
};

function report(unusedDays: number) {
  return {
    environment: 'production',
    tier: 'production',
    loopbackHosts: ['127.0.0.1', '[::1]'],
    generatedAt: 0,
    unusedDays,
    expiringDays: 14,
    summary: { clients: 1, redirectUris: 1, postLogoutUris: 0, flags: FLAGS },
    clients: [
      {
        clientId: 'ghc_production_cli',
        name: 'Deploy CLI',
        type: 'native',
        kind: 'registered',
        managedBy: null,
        promotedFrom: null,
        otherRefusals: 0,
        flags: [],
        entries: [
          {
            kind: 'redirect',
            uri: 'http://localhost/callback',
            class: 'loopback',
            loopbackHost: 'localhost',
            expiresAt: null,
            registeredAt: 0,
            registeredBy: 'admin:cli',
            registeredByLabel: 'admin:cli',
            channel: 'cli',
            lastUsedAt: null,
            uses: 0,
            requests: 0,
            nearMisses: 0,
            flags: [
              { code: 'localhost_loopback', reason: 'register http://127.0.0.1/callback' },
              {
                code: 'violates_policy',
                reason: "production's policy refuses it today [loopback_host_not_allowed]",
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('the redirect inventory page', () => {
  it('shows the flags with their reasons and asks again for another review window', async () => {
    const asked: (string | null)[] = [];
    api({
      'GET /environments/production/redirect-report': ({ query }) => {
        asked.push(query.get('unusedDays'));
        return json(report(Number(query.get('unusedDays') ?? 90)));
      },
    });
    renderConsole('/environments/production/redirects');
    await screen.findByRole('heading', { level: 1, name: 'Redirect inventory' });
    const row = await screen.findByText('http://localhost/callback');
    const cells = within(row.closest('tr') as HTMLElement);
    expect(cells.getByText('register http://127.0.0.1/callback')).toBeTruthy();
    expect(cells.getByText("Violates today's policy")).toBeTruthy();
    expect(screen.getByTestId('inventory-summary').textContent).toContain(
      'Loopback hosts allowed: 127.0.0.1, [::1].',
    );

    await userEvent.type(screen.getByLabelText('Unused for (days)'), '30');
    await expect.poll(() => asked.at(-1)).toBe('30');
    // Not a number of days: a hint, and the default window again.
    await userEvent.clear(screen.getByLabelText('Unused for (days)'));
    await userEvent.type(screen.getByLabelText('Unused for (days)'), 'soon');
    expect(await screen.findByText(/A whole number of days from 0 to 3650/)).toBeTruthy();
    await expect.poll(() => asked.at(-1)).toBe(null);
  });

  it('says so when the export fails, and keeps the page', async () => {
    const fetches = api({
      'GET /environments/production/redirect-report': ({ query }) =>
        query.get('format') === 'csv'
          ? json({ error: 'server_error', message: 'something went wrong' }, 500)
          : json(report(90)),
    });
    renderConsole('/environments/production/redirects');
    await screen.findByText('http://localhost/callback');
    await userEvent.click(screen.getByRole('button', { name: 'Export' }));
    expect((await screen.findByRole('alert')).textContent).toContain('The export failed (500).');
    expect(fetches.calls.filter((call) => call.endsWith('/redirect-report')).length).toBe(2);
    expect(screen.getByText('http://localhost/callback')).toBeTruthy();
  });
});
