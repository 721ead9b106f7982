import { useState } from 'react';
import { Link } from 'react-router';
import { createEnvironment, updateEnvironment } from '../api/admin';
import { keys, useAction, useEnvironments } from '../api/queries';
import type { Environment, Tier } from '../api/types';
import { TierBadge } from '../components/Badges';
import { ErrorAlert, Loading } from '../components/Feedback';
import { ActionForm, SelectField, TextField, type Option } from '../components/Form';
import { Switch } from '../components/Switch';
import { paths } from '../paths';
import { useSession } from '../session';
import { usePageTitle } from './usePageTitle';

const TIERS: readonly Option<Tier>[] = ['development', 'staging', 'production'].map((tier) => ({
  value: tier as Tier,
  label: tier,
}));

export function EnvironmentsPage() {
  usePageTitle('Environments');
  const { can } = useSession();
  const environments = useEnvironments();
  const toggle = useAction({
    run: ({ env, enabled }: { env: Environment; enabled: boolean }) =>
      updateEnvironment(env.name, { impersonationEnabled: enabled }),
    invalidates: ({ env }) => [keys.environments, keys.environment(env.name)],
  });

  return (
    <section>
      <div className="page-heading">
        <h1>Environments</h1>
      </div>
      <ErrorAlert error={environments.error ?? toggle.error} />
      {environments.data === undefined ? (
        environments.isPending && <Loading what="environments" />
      ) : environments.data.length === 0 ? (
        <p>No environments yet.</p>
      ) : (
        <ul className="card-grid" aria-label="Environments">
          {environments.data.map((env) => (
            <li key={env.name} className="card env-card" data-testid="environment-card">
              <div className="env-card-head">
                <h2>
                  <Link to={paths.environment(env.name)}>{env.name}</Link>
                </h2>
                <TierBadge tier={env.tier} />
              </div>
              <p className="issuer">
                <span className="muted">Issuer</span> <code>{env.issuer}</code>
              </p>
              <dl className="stats">
                <div>
                  <dt>Clients</dt>
                  <dd>{env.clientCount}</dd>
                </div>
                <div>
                  <dt>Users</dt>
                  <dd>{env.userCount}</dd>
                </div>
              </dl>
              <div className="env-card-foot">
                <span>Impersonation</span>
                {can.manage ? (
                  <Switch
                    checked={env.impersonationEnabled}
                    label={`Impersonation in ${env.name}`}
                    onChange={(enabled) => {
                      toggle.mutate({ env, enabled });
                    }}
                  />
                ) : (
                  <span className="muted">{env.impersonationEnabled ? 'On' : 'Off'}</span>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
      {can.manage && <NewEnvironmentForm />}
    </section>
  );
}

function NewEnvironmentForm() {
  const [name, setName] = useState('');
  const [tier, setTier] = useState<Tier>('development');
  const create = useAction({
    run: () => createEnvironment(name.trim(), tier),
    invalidates: () => [keys.environments],
    onDone: () => {
      setName('');
    },
  });

  return (
    <section className="panel" aria-labelledby="new-environment-heading">
      <h2 id="new-environment-heading">New environment</h2>
      <ActionForm
        className="form inline-form"
        action={create}
        submitLabel="Create environment"
        busyLabel="Creating…"
        canSubmit={name.trim() !== ''}
      >
        <TextField label="Environment name" required value={name} onChange={setName} />
        <SelectField label="Tier" value={tier} options={TIERS} onChange={setTier} />
      </ActionForm>
      {create.isSuccess && (
        <p className="alert alert-success" role="status">
          Environment <Link to={paths.environment(create.data.name)}>{create.data.name}</Link>{' '}
          created.
        </p>
      )}
    </section>
  );
}
