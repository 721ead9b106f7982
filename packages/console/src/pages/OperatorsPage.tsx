import { useCallback, useId, useState, type SubmitEvent } from 'react';
import { createOperator, disableOperator, listOperators } from '../api/admin';
import type { Role } from '../api/types';
import { Badge } from '../components/Badges';
import { ConfirmButton } from '../components/ConfirmButton';
import { ErrorAlert, Loading } from '../components/Feedback';
import { formatDateTime } from '../format';
import { useResource } from '../hooks';
import { useSession } from '../session';
import { usePageTitle } from './usePageTitle';

const ROLES: readonly { value: Role; label: string }[] = [
  { value: 'admin', label: 'admin: everything' },
  { value: 'support', label: 'support: read, and impersonate users' },
  { value: 'viewer', label: 'viewer: read only' },
];

export function OperatorsPage() {
  usePageTitle('Operators');
  const { can, operator: me } = useSession();
  const operators = useResource(useCallback(() => listOperators(), []));
  const [error, setError] = useState<unknown>(undefined);

  const disable = async (id: string): Promise<void> => {
    setError(undefined);
    try {
      await disableOperator(id);
      operators.reload();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <section className="page">
      <div className="page-heading">
        <h1>Operators</h1>
      </div>
      <ErrorAlert error={operators.error ?? error} />
      {operators.data === undefined ? (
        operators.status === 'loading' && <Loading what="operators" />
      ) : (
        <div className="table-wrap panel">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                {can.manage && (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {operators.data.map((operator) => (
                <tr key={operator.id} data-testid="operator-row">
                  <td>
                    {operator.email}
                    {operator.id === me.id && <span className="muted"> (you)</span>}
                  </td>
                  <td>
                    <Badge tone={operator.role === 'admin' ? 'info' : 'neutral'}>
                      {operator.role}
                    </Badge>
                  </td>
                  <td>
                    {operator.disabled ? (
                      <Badge tone="danger">disabled</Badge>
                    ) : (
                      <Badge tone="ok">active</Badge>
                    )}
                  </td>
                  <td className="nowrap">{formatDateTime(operator.createdAt)}</td>
                  {can.manage && (
                    <td className="row-actions">
                      {!operator.disabled && operator.id !== me.id && (
                        <ConfirmButton
                          className="button danger small"
                          aria-label={`Disable ${operator.email}`}
                          title={`Disable ${operator.email}?`}
                          message="The operator can no longer sign in to the console."
                          confirmLabel="Disable operator"
                          onConfirm={() => {
                            void disable(operator.id);
                          }}
                        >
                          Disable
                        </ConfirmButton>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {can.manage && <NewOperatorForm onCreated={operators.reload} />}
    </section>
  );
}

function NewOperatorForm({ onCreated }: { readonly onCreated: () => void }) {
  const ids = { email: useId(), role: useId(), password: useId() };
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
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
      const operator = await createOperator({ email: email.trim(), role, password });
      setCreated(operator.email);
      setEmail('');
      setPassword('');
      onCreated();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="new-operator-heading">
      <h2 id="new-operator-heading">New operator</h2>
      <form
        className="form"
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
            <label htmlFor={ids.role}>Role</label>
            <select
              id={ids.role}
              value={role}
              onChange={(event) => {
                setRole(event.target.value as Role);
              }}
            >
              {ROLES.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </select>
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
            Create operator
          </button>
        </div>
      </form>
      {created !== null && (
        <p className="alert alert-success" role="status">
          Operator {created} created.
        </p>
      )}
    </section>
  );
}
