import { useCallback, useId, useState, type SubmitEvent } from 'react';
import { createEnvironment, listEnvironments, setImpersonationEnabled } from '../api/admin';
import type { Environment, Tier } from '../api/types';
import { TierBadge } from '../components/Badges';
import { ErrorAlert, Loading } from '../components/Feedback';
import { Switch } from '../components/Switch';
import { useResource } from '../hooks';
import { Link, paths } from '../router';
import { useSession } from '../session';
import { usePageTitle } from './usePageTitle';

export const TIERS: readonly Tier[] = ['development', 'staging', 'production'];

export function EnvironmentsPage() {
  usePageTitle('Environments');
  const { can } = useSession();
  const environments = useResource(useCallback(() => listEnvironments(), []));
  const [error, setError] = useState<unknown>(undefined);

  const toggle = async (env: Environment, enabled: boolean): Promise<void> => {
    setError(undefined);
    try {
      await setImpersonationEnabled(env.name, enabled);
      environments.reload();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <section>
      <div className="page-heading">
        <h1>Environments</h1>
      </div>
      <ErrorAlert error={environments.error ?? error} />
      {environments.data === undefined ? (
        environments.status === 'loading' && <Loading what="environments" />
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
                      void toggle(env, enabled);
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
      {can.manage && <NewEnvironmentForm onCreated={environments.reload} />}
    </section>
  );
}

function NewEnvironmentForm({ onCreated }: { readonly onCreated: () => void }) {
  const nameId = useId();
  const tierId = useId();
  const [name, setName] = useState('');
  const [tier, setTier] = useState<Tier>('development');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<string | null>(null);

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setCreated(null);
    try {
      const environment = await createEnvironment(name.trim(), tier);
      setCreated(environment.name);
      setName('');
      onCreated();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby={`${nameId}-heading`}>
      <h2 id={`${nameId}-heading`}>New environment</h2>
      <form
        className="form inline-form"
        onSubmit={(event) => {
          void submit(event);
        }}
      >
        <div className="field">
          <label htmlFor={nameId}>Environment name</label>
          <input
            id={nameId}
            required
            autoComplete="off"
            value={name}
            onChange={(event) => {
              setName(event.target.value);
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={tierId}>Tier</label>
          <select
            id={tierId}
            value={tier}
            onChange={(event) => {
              setTier(event.target.value as Tier);
            }}
          >
            {TIERS.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div className="actions">
          <button type="submit" className="button primary" disabled={busy || name.trim() === ''}>
            Create environment
          </button>
        </div>
      </form>
      <ErrorAlert error={error} />
      {created !== null && (
        <p className="alert alert-success" role="status">
          Environment <Link to={paths.environment(created)}>{created}</Link> created.
        </p>
      )}
    </section>
  );
}
