import { useState } from 'react';
import { createOperator, disableOperator } from '../api/admin';
import { keys, useAction, useOperators } from '../api/queries';
import type { Role } from '../api/types';
import { Badge, StatusBadge } from '../components/Badges';
import { ConfirmButton } from '../components/ConfirmButton';
import { ErrorAlert, Loading, Table } from '../components/Feedback';
import { ActionForm, NewPasswordField, SelectField, TextField } from '../components/Form';
import { DateTime } from '../components/Values';
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
  const operators = useOperators();
  const disable = useAction({ run: disableOperator, invalidates: () => [keys.operators] });

  return (
    <section className="page">
      <div className="page-heading">
        <h1>Operators</h1>
      </div>
      <ErrorAlert error={operators.error ?? disable.error} />
      {operators.data === undefined ? (
        operators.isPending && <Loading what="operators" />
      ) : (
        <Table
          columns={['Email', 'Role', 'Status', 'Created']}
          actions={can.manage}
          className="table-wrap panel"
        >
          {operators.data.map((operator) => (
            <tr key={operator.id} data-testid="operator-row">
              <td>
                {operator.email}
                {operator.id === me.id && <span className="muted"> (you)</span>}
              </td>
              <td>
                <Badge tone={operator.role === 'admin' ? 'info' : 'neutral'}>{operator.role}</Badge>
              </td>
              <td>
                <StatusBadge disabled={operator.disabled} />
              </td>
              <td className="nowrap">
                <DateTime ms={operator.createdAt} />
              </td>
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
                        disable.mutate(operator.id);
                      }}
                    >
                      Disable
                    </ConfirmButton>
                  )}
                </td>
              )}
            </tr>
          ))}
        </Table>
      )}
      {can.manage && <NewOperatorForm />}
    </section>
  );
}

function NewOperatorForm() {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  const create = useAction({
    run: () => createOperator({ email: email.trim(), role, password }),
    invalidates: () => [keys.operators],
    onDone: () => {
      setEmail('');
      setPassword('');
    },
  });

  return (
    <section className="panel" aria-labelledby="new-operator-heading">
      <h2 id="new-operator-heading">New operator</h2>
      <ActionForm action={create} submitLabel="Create operator" busyLabel="Creating…">
        <div className="form-row">
          <TextField label="Email" type="email" required value={email} onChange={setEmail} />
          <SelectField label="Role" value={role} options={ROLES} onChange={setRole} />
          <NewPasswordField value={password} onChange={setPassword} />
        </div>
      </ActionForm>
      {create.isSuccess && (
        <p className="alert alert-success" role="status">
          Operator {create.data.email} created.
        </p>
      )}
    </section>
  );
}
