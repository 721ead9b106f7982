import { useId, useState } from 'react';
import { createUser, deleteUser, setUserDisabled, setUserEmailVerified } from '../../api/admin';
import { keys, useAction, useClients, useUsers } from '../../api/queries';
import type { Environment, Impersonation, User } from '../../api/types';
import { StatusBadge } from '../../components/Badges';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ListState, Table } from '../../components/Feedback';
import { ActionForm, CheckboxField, NewPasswordField, TextField } from '../../components/Form';
import { ActiveImpersonation, ImpersonationForm } from '../../components/Impersonation';
import { Missing } from '../../components/Values';
import { useSession } from '../../session';
import { UserConsents } from './UserConsents';

export function UsersSection({ environment }: { readonly environment: Environment }) {
  const { can } = useSession();
  const env = environment.name;
  const users = useUsers(env);
  const clients = useClients(env);
  const [impersonating, setImpersonating] = useState<User | null>(null);
  const [started, setStarted] = useState<Impersonation | null>(null);
  const [consentsOf, setConsentsOf] = useState<string | null>(null);
  const consentsId = useId();
  // Gone once the user is (deleted and) no longer listed.
  const consentsUser = users.data?.find((user) => user.id === consentsOf);
  const mayImpersonate = can.impersonate && environment.impersonationEnabled;

  const act = useAction({
    run: (action: () => Promise<unknown>) => action(),
    invalidates: () => [keys.users(env), keys.environments],
  });

  return (
    <section id="users" className="panel" aria-labelledby="users-heading">
      <h2 id="users-heading">Users</h2>
      <ListState
        query={users}
        what="users"
        error={act.error}
        empty={<p className="muted">No users yet.</p>}
      >
        {(list) => (
          <Table columns={['Email', 'Email verified', 'Name', 'Status']} actions>
            {list.map((user) => (
              <tr key={user.id} data-testid="user-row">
                <td>{user.email}</td>
                <td>
                  {can.manage ? (
                    <label className="checkbox">
                      <input
                        type="checkbox"
                        checked={user.emailVerified}
                        aria-label={`Email of ${user.email} verified`}
                        onChange={(event) => {
                          const verified = event.currentTarget.checked;
                          act.mutate(() => setUserEmailVerified(env, user.id, verified));
                        }}
                      />{' '}
                      {user.emailVerified ? 'yes' : 'no'}
                    </label>
                  ) : user.emailVerified ? (
                    'yes'
                  ) : (
                    'no'
                  )}
                </td>
                <td>{user.name ?? <Missing />}</td>
                <td>
                  <StatusBadge disabled={user.disabled} />
                </td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="button secondary small"
                    aria-label={`Consents of ${user.email}`}
                    aria-expanded={consentsOf === user.id}
                    aria-controls={consentsOf === user.id ? consentsId : undefined}
                    onClick={() => {
                      setConsentsOf(consentsOf === user.id ? null : user.id);
                    }}
                  >
                    Consents
                  </button>
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
                          act.mutate(() => setUserDisabled(env, user.id, !user.disabled));
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
                          act.mutate(() => deleteUser(env, user.id));
                        }}
                      >
                        Delete
                      </ConfirmButton>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </ListState>
      {consentsUser !== undefined && (
        <UserConsents
          key={consentsUser.id}
          env={env}
          user={consentsUser}
          id={consentsId}
          onClose={() => {
            setConsentsOf(null);
          }}
        />
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
              clients={clients.data ?? []}
              onStarted={(impersonation) => {
                setImpersonating(null);
                setStarted(impersonation);
              }}
              onCancel={() => {
                setImpersonating(null);
              }}
            />
          </section>
        )
      )}

      {can.manage && <NewUserForm env={env} />}
    </section>
  );
}

function NewUserForm({ env }: { readonly env: string }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [emailVerified, setEmailVerified] = useState(false);
  const create = useAction({
    run: () =>
      createUser(env, {
        email: email.trim(),
        password,
        ...(name.trim() === '' ? {} : { name: name.trim() }),
        ...(emailVerified ? { emailVerified: true } : {}),
      }),
    invalidates: () => [keys.users(env), keys.environments],
    onDone: () => {
      setEmail('');
      setName('');
      setPassword('');
      setEmailVerified(false);
    },
  });

  return (
    <section className="subpanel" aria-labelledby="new-user-heading">
      <h3 id="new-user-heading">New user</h3>
      <ActionForm
        action={create}
        submitLabel="Create user"
        busyLabel="Creating…"
        data-testid="new-user-form"
      >
        <div className="form-row">
          <TextField label="Email" type="email" required value={email} onChange={setEmail} />
          <TextField label="Display name (optional)" value={name} onChange={setName} />
          <NewPasswordField value={password} onChange={setPassword} />
        </div>
        <CheckboxField
          label="The email address is verified (ID tokens and userinfo say email_verified: true)"
          checked={emailVerified}
          onChange={setEmailVerified}
        />
      </ActionForm>
      {create.isSuccess && (
        <p className="alert alert-success" role="status">
          User {create.data.email} created.
        </p>
      )}
    </section>
  );
}
