// @vitest-environment jsdom
import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { formatDateTime } from '../src/format';
import { api, json, renderConsole } from './console';

const AT = Date.UTC(2025, 0, 31, 14, 5, 9);
const ENTRIES = [
  {
    seq: 2,
    at: AT + 60_000,
    environment: 'staging',
    type: 'impersonation.token_issued',
    actor: 'operator:op_1',
    clientId: 'cl_review',
    userId: 'usr_dana',
    data: { reason: 'ticket 4711' },
    hash: 'h2',
  },
  {
    seq: 1,
    at: AT,
    environment: null,
    type: 'operator.created',
    actor: 'admin:cli',
    clientId: null,
    userId: null,
    data: {},
    hash: 'h1',
  },
];

describe('audit log table', () => {
  it('shows whole event names, a dash for missing values and one date format', async () => {
    api({
      'GET /environments': () => json({ environments: [] }),
      'GET /audit': () => json({ entries: ENTRIES, verification: { ok: true, count: 2 } }),
    });
    renderConsole('/audit');

    const rows = await screen.findAllByTestId('audit-entry');
    expect(rows).toHaveLength(2);
    expect(screen.getByTestId('chain-state').textContent).toBe('Chain verified: 2 entries');

    const [newer, older] = rows.map((row) => within(row).getAllByRole('cell'));
    // The event type is one code element holding the full name; it may wrap only after its dots.
    const type = newer?.[3]?.querySelector('code');
    expect(type?.textContent).toBe('impersonation.token_issued');
    expect(type?.querySelectorAll('wbr')).toHaveLength(1);
    expect(newer?.[3]?.className).toContain('audit-type');

    // Missing values: a dash, never the word "none".
    const olderText = rows[1]?.textContent ?? '';
    expect(olderText).not.toMatch(/none/i);
    for (const index of [2, 5, 6]) expect(older?.[index]?.textContent).toContain('—');

    // Times: the console's one format, with the instant machine-readable.
    const times = screen.getAllByRole('time');
    expect(times.map((time) => time.textContent)).toEqual([
      formatDateTime(AT + 60_000),
      formatDateTime(AT),
    ]);
    expect(times[1]?.getAttribute('datetime')).toBe('2025-01-31T14:05:09.000Z');
  });

  it('reads the log again with the filters applied', async () => {
    const { fetch } = api({
      'GET /environments': () => json({ environments: [] }),
      'GET /audit': ({ query }) =>
        json({
          entries: ENTRIES.filter(
            (entry) => entry.clientId === (query.get('clientId') ?? entry.clientId),
          ),
          verification: { ok: true, count: 2 },
        }),
    });
    renderConsole('/audit');
    expect(await screen.findAllByTestId('audit-entry')).toHaveLength(2);

    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Client ID'), 'cl_review');
    await user.click(screen.getByRole('button', { name: 'Apply filters' }));
    await expect.poll(() => screen.queryAllByTestId('audit-entry').length).toBe(1);
    const urls = fetch.mock.calls.map(([url]) => url as string);
    expect(urls.at(-1)).toBe('/api/audit?clientId=cl_review&limit=50');
  });

  it('shows controls and bidirectional overrides in audit data as escapes, never applied', async () => {
    // Anyone can type this on the sign-in page; shown as it is, it reads "admin@google.com".
    const typed = 'admin@\u202emoc.elgoog';
    api({
      'GET /environments': () => json({ environments: [] }),
      'GET /audit': () =>
        json({
          entries: [
            {
              seq: 3,
              at: AT,
              environment: 'production',
              type: 'signin.failed',
              actor: 'anonymous',
              clientId: null,
              userId: null,
              data: { email: typed, note: 'a\u2066b\u0085c' },
              hash: 'h3',
            },
          ],
          verification: { ok: true, count: 1 },
        }),
    });
    renderConsole('/audit');
    const [row] = await screen.findAllByTestId('audit-entry');
    const data = row?.querySelector('code.json')?.textContent ?? '';
    expect(data).toBe('{"email":"admin@\\u202emoc.elgoog","note":"a\\u2066b\\u0085c"}');
    expect(data).not.toMatch(/[\u202e\u2066\u0085]/u);
  });
});
