import { useState } from 'react';
import { useImpersonations, useUsers } from '../../api/queries';
import type { Client, Environment, Impersonation } from '../../api/types';
import { ErrorAlert, Loading } from '../../components/Feedback';
import { ActiveImpersonation, ImpersonationForm } from '../../components/Impersonation';
import { useNow } from '../../hooks';
import { Link } from 'react-router';
import { paths } from '../../paths';
import { useSession } from '../../session';

/** Support and admin operators: sign in to this client's application as one of the users. */
export function ImpersonateSection({
  environment,
  client,
}: {
  readonly environment: Environment;
  readonly client: Client;
}) {
  const heading = <h2 id="impersonate-heading">Impersonate a user for this client</h2>;
  if (!environment.impersonationEnabled) {
    return (
      <section className="panel" aria-labelledby="impersonate-heading">
        {heading}
        <p className="muted">
          Impersonation is off in {environment.name}; an admin can turn it on in the{' '}
          <Link to={paths.environment(environment.name)}>environment&apos;s settings</Link>.
        </p>
      </section>
    );
  }
  return (
    <section className="panel" aria-labelledby="impersonate-heading">
      {heading}
      <Impersonate env={environment.name} client={client} />
    </section>
  );
}

function Impersonate({ env, client }: { readonly env: string; readonly client: Client }) {
  const { operator } = useSession();
  const now = useNow();
  const users = useUsers(env);
  const existing = useImpersonations(env);
  const [started, setStarted] = useState<Impersonation | null>(null);
  const [ended, setEnded] = useState<readonly string[]>([]);

  // An impersonation of mine for this client still running (e.g. after a reload of the page).
  const mine =
    started ??
    existing.data?.find(
      (i) =>
        i.active &&
        i.expiresAt > now &&
        i.clientId === client.clientId &&
        i.operatorId === operator.id &&
        !ended.includes(i.id),
    ) ??
    null;

  if (mine !== null) {
    return (
      <ActiveImpersonation
        impersonation={mine}
        onEnded={(impersonation) => {
          setEnded((ids) => [...ids, impersonation.id]);
          setStarted(null);
        }}
      />
    );
  }
  if (users.data === undefined) {
    return users.isError ? <ErrorAlert error={users.error} /> : <Loading what="users" />;
  }
  return (
    <>
      {ended.length > 0 && (
        <p className="alert alert-success" role="status">
          Impersonation ended.
        </p>
      )}
      <ImpersonationForm
        environment={env}
        client={client}
        users={users.data}
        onStarted={setStarted}
      />
    </>
  );
}
