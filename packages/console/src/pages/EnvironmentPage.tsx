import { useCallback } from 'react';
import {
  listClients,
  listEnvironments,
  listImpersonations,
  listResources,
  listUsers,
} from '../api/admin';
import { TierBadge } from '../components/Badges';
import { ErrorAlert, Loading } from '../components/Feedback';
import { useResource } from '../hooks';
import { Link, paths } from '../router';
import { useSession } from '../session';
import { ClientsSection } from './environment/ClientsSection';
import { ImpersonationsSection } from './environment/ImpersonationsSection';
import { NewClientForm } from './environment/NewClientForm';
import { ResourcesSection } from './environment/ResourcesSection';
import { SettingsSection } from './environment/SettingsSection';
import { UsersSection } from './environment/UsersSection';
import { usePageTitle } from './usePageTitle';

export function EnvironmentPage({ env }: { readonly env: string }) {
  usePageTitle(env);
  const { can } = useSession();
  const environments = useResource(useCallback(() => listEnvironments(), []));
  const clients = useResource(useCallback(() => listClients(env), [env]));
  const users = useResource(useCallback(() => listUsers(env), [env]));
  const impersonations = useResource(useCallback(() => listImpersonations(env), [env]));
  const resources = useResource(useCallback(() => listResources(env), [env]));

  const environment = environments.data?.find((e) => e.name === env);
  if (environments.data === undefined) {
    return environments.status === 'error' ? (
      <ErrorAlert error={environments.error} />
    ) : (
      <Loading what="the environment" />
    );
  }
  if (environment === undefined) {
    return (
      <section>
        <h1>Environment not found</h1>
        <p>
          There is no environment named <code>{env}</code>.{' '}
          <Link to={paths.environments()}>See all environments</Link>.
        </p>
      </section>
    );
  }

  const settingsChanged = (): void => {
    environments.reload();
    // Turning impersonation off ends the running ones.
    impersonations.reload();
  };
  const clientsChanged = (): void => {
    clients.reload();
    environments.reload();
  };
  const usersChanged = (): void => {
    users.reload();
    environments.reload();
  };

  return (
    <div className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={paths.environments()}>Environments</Link> <span aria-hidden="true">/</span>
      </nav>
      <div className="page-heading">
        <h1>{environment.name}</h1>
        <TierBadge tier={environment.tier} />
      </div>
      <p className="issuer">
        <span className="muted">Issuer</span> <code>{environment.issuer}</code>
      </p>
      <nav aria-label="On this page" className="section-nav">
        <a href="#clients">Clients</a>
        {can.manage && <a href="#new-client">New client</a>}
        <a href="#users">Users</a>
        <a href="#resources">Resources</a>
        <a href="#settings">Settings</a>
        <a href="#impersonations">Active impersonations</a>
      </nav>

      <ClientsSection env={env} clients={clients} />
      {can.manage && <NewClientForm environment={environment} onCreated={clientsChanged} />}
      <UsersSection
        environment={environment}
        users={users}
        clients={clients.data ?? []}
        onChanged={usersChanged}
        onImpersonationChanged={impersonations.reload}
      />

      <ResourcesSection env={env} resources={resources} onChanged={resources.reload} />
      <SettingsSection environment={environment} onChanged={settingsChanged} />

      <ImpersonationsSection env={env} impersonations={impersonations} />
    </div>
  );
}
