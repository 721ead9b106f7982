import { Link } from 'react-router';
import { useEnvironments } from '../api/queries';
import { TierBadge } from '../components/Badges';
import { ErrorAlert, Loading } from '../components/Feedback';
import { Breadcrumb } from '../components/Breadcrumb';
import { paths } from '../paths';
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
  const environments = useEnvironments();

  const environment = environments.data?.find((e) => e.name === env);
  if (environments.data === undefined) {
    return environments.isError ? (
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

  return (
    <div className="page">
      <Breadcrumb />
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
        <Link to={paths.redirectInventory(env)}>Redirect inventory</Link>
      </nav>

      <ClientsSection env={env} />
      {can.manage && <NewClientForm environment={environment} />}
      <UsersSection environment={environment} />
      <ResourcesSection env={env} />
      <SettingsSection environment={environment} />
      <ImpersonationsSection env={env} />
    </div>
  );
}
