// @vitest-environment jsdom
import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { api, deferred, json, OPERATOR, renderConsole, SESSION } from './console';

const OLGA: { id: string; email: string; role: string; disabled: boolean; createdAt: number } = {
  ...OPERATOR,
  disabled: false,
  createdAt: 0,
};

describe('forms', () => {
  it('show busy state while the change runs, then the server’s message when it fails', async () => {
    const answer = deferred<Response>();
    const { calls } = api({
      'GET /operators': () => json({ operators: [OLGA] }),
      'POST /operators': () => answer.promise,
    });
    renderConsole('/operators');
    const user = userEvent.setup();
    const form = (await screen.findByRole('heading', { name: 'New operator' })).closest('section');
    if (form === null) throw new Error('no New operator section');
    const inForm = within(form);

    await user.type(inForm.getByLabelText('Email'), 'olga@ops.example');
    await user.type(inForm.getByLabelText('Password'), 'another password 1');
    await user.click(inForm.getByRole('button', { name: 'Create operator' }));

    const busy = await inForm.findByRole('button', { name: 'Creating…' });
    expect(busy.hasAttribute('disabled')).toBe(true);
    answer.resolve(
      json({ error: 'email_taken', message: 'an operator olga@ops.example exists' }, 409),
    );

    expect((await inForm.findByRole('alert')).textContent).toBe(
      'an operator olga@ops.example exists',
    );
    expect(inForm.getByRole('button', { name: 'Create operator' }).hasAttribute('disabled')).toBe(
      false,
    );
    expect(calls.filter((call) => call === 'POST /operators')).toHaveLength(1);
  });

  it('refetch what a change makes stale, and send the CSRF token with it', async () => {
    const operators = [OLGA];
    const { fetch } = api({
      'GET /operators': () => json({ operators }),
      'POST /operators': ({ body }) => {
        const created = {
          ...(body as { email: string; role: 'viewer' }),
          id: 'op_2',
          disabled: false,
          createdAt: 0,
        };
        operators.push({ ...created, role: 'admin' });
        return json({ operator: created }, 201);
      },
    });
    renderConsole('/operators');
    const user = userEvent.setup();
    expect(await screen.findAllByTestId('operator-row')).toHaveLength(1);

    await user.type(screen.getAllByLabelText('Email')[0] as HTMLElement, 'vic@ops.example');
    await user.type(screen.getByLabelText('Password'), 'viewer password 1');
    await user.click(screen.getByRole('button', { name: 'Create operator' }));

    expect((await screen.findByRole('status')).textContent).toBe(
      'Operator vic@ops.example created.',
    );
    await expect.poll(() => screen.queryAllByTestId('operator-row').length).toBe(2);
    const post = fetch.mock.calls.find(([, init]) => init?.method === 'POST');
    expect(new Headers(post?.[1]?.headers).get('X-Gatehouse-CSRF')).toBe(SESSION.csrfToken);
    expect(screen.getByLabelText<HTMLInputElement>('Password').value).toBe('');
  });

  it('sign in: a refused password shows the message, then the console opens', async () => {
    let signedIn = false;
    api({
      'GET /session': () => json({ error: 'unauthenticated', message: 'sign in first' }, 401),
      'POST /session': ({ body }) => {
        const { password } = body as { password: string };
        if (password !== 'right password 1')
          return json(
            { error: 'invalid_credentials', message: 'the email or password is incorrect' },
            401,
          );
        signedIn = true;
        return json(SESSION);
      },
      'GET /environments': () => json({ environments: [] }),
    });
    renderConsole('/');
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('Email'), OPERATOR.email);
    await user.type(screen.getByLabelText('Password'), 'wrong password 1');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'the email or password is incorrect',
    );

    await user.clear(screen.getByLabelText('Password'));
    await user.type(screen.getByLabelText('Password'), 'right password 1');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Environments' })).toBeTruthy();
    expect(signedIn).toBe(true);
  });
});
