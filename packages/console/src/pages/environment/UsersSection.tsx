import { useId, useState, type SubmitEvent } from 'react';
import { createUser, deleteUser, setUserDisabled } from '../../api/admin';
import type { Client, Environment, Impersonation, User } from '../../api/types';
import { Badge } from '../../components/Badges';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert, Loading } from '../../components/Feedback';
import { ActiveImpersonation, ImpersonationForm } from '../../components/Impersonation';
import type { Resource } from '../../hooks';
import { useSession } from '../../session';

export function UsersSection({
  environment,
  users,
  clients,
  onChanged,
  onImpersonationChanged,
}: {
  readonly environment: Environment;
  readonly users: Resource<readonly User[]>;
  readonly clients: readonly Client[];
  readonly onChanged: () => void;
  readonly onImpersonationChanged: () => void;
}) {
  const { can } = useSession();
  const env = environment.name;
  const [error, setError] = useState<unknown>(undefined);
  const [impersonating, setImpersonating] = useState<User | null>(null);
  const [started, setStarted] = useState<Impersonation | null>(null);
  const mayImpersonate = can.impersonate && environment.impersonationEnabled;

  const act = async (action: () => Promise<unknown>): Promise<void> => {
    setError(undefined);
    try {
      await action();
      onChanged();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <section id="users" className="panel" aria-labelledby="users-heading">
      <h2 id="users-heading">Users</h2>
      <ErrorAlert error={users.error ?? error} />
      {users.data === undefined ? (
        users.status === 'loading' && <Loading what="users" />
      ) : users.data.length === 0 ? (
        <p className="muted">No users yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                {(can.manage || mayImpersonate) && (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {users.data.map((user) => (
                <tr key={user.id} data-testid="user-row">
                  <td>{user.email}</td>
                  <td>{user.name ?? <span className="muted">none</span>}</td>
                  <td>
                    {user.disabled ? (
                      <Badge tone="danger">disabled</Badge>
                    ) : (
                      <Badge tone="ok">active</Badge>
                    )}
                  </td>
                  {(can.manage || mayImpersonate) && (
                    <td className="row-actions">
                      {mayImpersonate && !user.disabled && (
                        <button
                          type="button"
                          className="button secondary small"
                          aria-label={`Impersonate ${user.email}`}
                          onClick={() => {
                            setStarted(null);
                            setImpersonating(user);
                          }}
                        >
                          Impersonate
                        </button>
                      )}
                      {can.manage && (
                        <>
                          <ConfirmButton
                            className="button secondary small"
                            aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.email}`}
                            title={`${user.disabled ? 'Enable' : 'Disable'} ${user.email}?`}
                            message={
                              user.disabled
                                ? 'The user will be able to sign in again.'
                                : 'The user can no longer sign in, and their sessions and tokens stop working.'
                            }
                            confirmLabel={user.disabled ? 'Enable user' : 'Disable user'}
                            onConfirm={() => {
                              void act(() => setUserDisabled(env, user.id, !user.disabled));
                            }}
                          >
                            {user.disabled ? 'Enable' : 'Disable'}
                          </ConfirmButton>
                          <ConfirmButton
                            className="button danger small"
                            aria-label={`Delete ${user.email}`}
                            title={`Delete ${user.email}?`}
                            message="The user and everything issued to them are deleted. This cannot be undone."
                            confirmLabel="Delete user"
                            onConfirm={() => {
                              void act(() => deleteUser(env, user.id));
                            }}
                          >
                            Delete
                          </ConfirmButton>
                        </>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {can.impersonate && !environment.impersonationEnabled && (
        <p className="hint">Impersonation is off in this environment (see Settings).</p>
      )}

      {started !== null ? (
        <section className="subpanel" aria-labelledby="user-impersonation-heading">
          <h3 id="user-impersonation-heading">Impersonation</h3>
          <ActiveImpersonation
            impersonation={started}
            onEnded={() => {
              setStarted(null);
              onImpersonationChanged();
            }}
          />
        </section>
      ) : (
        impersonating !== null &&
        mayImpersonate && (
          <section className="subpanel" aria-labelledby="user-impersonation-heading">
            <h3 id="user-impersonation-heading">Impersonate {impersonating.email}</h3>
            <ImpersonationForm
              key={impersonating.id}
              environment={env}
              user={impersonating}
              clients={clients}
              onStarted={(impersonation) => {
                setImpersonating(null);
                setStarted(impersonation);
                onImpersonationChanged();
              }}
              onCancel={() => {
                setImpersonating(null);
              }}
            />
          </section>
        )
      )}

      {can.manage && <NewUserForm env={env} onCreated={onChanged} />}
    </section>
  );
}

function NewUserForm({ env, onCreated }: { readonly env: string; readonly onCreated: () => void }) {
  const ids = { email: useId(), name: useId(), password: useId() };
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<string | null>(null);

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setCreated(null);
    try {
      const trimmedName = name.trim();
      const user = await createUser(env, {
        email: email.trim(),
        password,
        ...(trimmedName === '' ? {} : { name: trimmedName }),
      });
      setCreated(user.email);
      setEmail('');
      setName('');
      setPassword('');
      onCreated();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="subpanel" aria-labelledby="new-user-heading">
      <h3 id="new-user-heading">New user</h3>
      <form
        className="form"
        data-testid="new-user-form"
        onSubmit={(event) => {
          void submit(event);
        }}
      >
        <div className="form-row">
          <div className="field">
            <label htmlFor={ids.email}>Email</label>
            <input
              id={ids.email}
              type="email"
              required
              autoComplete="off"
              value={email}
              onChange={(event) => {
                setEmail(event.target.value);
              }}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.name}>Display name (optional)</label>
            <input
              id={ids.name}
              autoComplete="off"
              value={name}
              onChange={(event) => {
                setName(event.target.value);
              }}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.password}>Password</label>
            <input
              id={ids.password}
              type="password"
              required
              autoComplete="new-password"
              value={password}
              onChange={(event) => {
                setPassword(event.target.value);
              }}
            />
          </div>
        </div>
        <ErrorAlert error={error} />
        <div className="actions">
          <button type="submit" className="button primary" disabled={busy}>
            Create user
          </button>
        </div>
      </form>
      {created !== null && (
        <p className="alert alert-success" role="status">
          User {created} created.
        </p>
      )}
    </section>
  );
}
