import { Link } from 'react-router';
import { ApiError } from '../api/http';
import { useClient, useEnvironments } from '../api/queries';
import { Badge, KindBadge, TierBadge } from '../components/Badges';
import { ErrorAlert, Loading } from '../components/Feedback';
import { DateTime } from '../components/Values';
import { Breadcrumb } from '../components/Breadcrumb';
import { paths } from '../paths';
import { useSession } from '../session';
import { CredentialsSection } from './client/CredentialsSection';
import { DeleteClientSection } from './client/DeleteClientSection';
import { ImpersonateSection } from './client/ImpersonateSection';
import { PromoteSection } from './client/PromoteSection';
import { ProtocolSection } from './client/ProtocolSection';
import { RedirectUrisSection } from './client/RedirectUrisSection';
import { RefusedRedirectsSection } from './client/RefusedRedirectsSection';
import { SettingsSection } from './client/SettingsSection';
import { usePageTitle } from './usePageTitle';

function promotedFromPath(promotedFrom: string): string | null {
  const slash = promotedFrom.indexOf('/');
  if (slash <= 0 || slash === promotedFrom.length - 1) return null;
  return paths.client(promotedFrom.slice(0, slash), promotedFrom.slice(slash + 1));
}

const TYPE_LABELS: Readonly<Record<string, string>> = {
  web: 'web (confidential)',
  native: 'native (public)',
  spa: 'single-page app (public, in a browser)',
};

/** A list of URIs as chips, or "none". */
function UriChips({ uris }: { readonly uris: readonly string[] }) {
  if (uris.length === 0) return <span className="muted">none</span>;
  return uris.map((uri) => (
    <code key={uri} className="chip">
      {uri}
    </code>
  ));
}

export function ClientPage({ env, clientId }: { readonly env: string; readonly clientId: string }) {
  const { can } = useSession();
  const environments = useEnvironments();
  const client = useClient(env, clientId);
  usePageTitle(client.data?.name ?? clientId);

  const environment = environments.data?.find((e) => e.name === env);
  if (client.data === undefined || environments.data === undefined) {
    const error = client.error ?? environments.error;
    if (error instanceof ApiError && error.status === 404) {
      return (
        <section>
          <h1>Client not found</h1>
          <p>
            There is no client <code>{clientId}</code> in{' '}
            <Link to={paths.environment(env)}>{env}</Link>.
          </p>
        </section>
      );
    }
    return error === null ? <Loading what="the client" /> : <ErrorAlert error={error} />;
  }
  if (environment === undefined) {
    return (
      <section>
        <h1>Environment not found</h1>
        <p>
          There is no environment named <code>{env}</code>.
        </p>
      </section>
    );
  }

  const current = client.data;
  const promotedFrom =
    current.promotedFrom === null ? null : promotedFromPath(current.promotedFrom);

  return (
    <div className="page">
      <Breadcrumb env={env} />
      <div className="page-heading">
        <h1>{current.name}</h1>
        <TierBadge tier={environment.tier} />
        <Badge>{current.type}</Badge>
        <KindBadge kind={current.kind} />
        {current.managedBy !== null && (
          <Badge tone="info" title={`Managed by ${current.managedBy}`}>
            managed by file
          </Badge>
        )}
        {current.promotedFrom !== null && <Badge tone="info">promoted</Badge>}
      </div>
      <ErrorAlert error={client.error} />
      {current.pkceExemptWithNonce && (
        <div className="alert alert-warning" role="alert" data-testid="pkce-exemption-warning">
          <p>
            <strong>PKCE is not required of this client</strong> when it sends an OpenID Connect{' '}
            <code>nonce</code> (the legacy exception of OAuth 2.1 §7.5.1, for relying parties that
            cannot send PKCE). A stolen authorization code is then protected only by the nonce and
            the client secret: turn this off as soon as the application supports PKCE.
          </p>
        </div>
      )}
      {environment.tier === 'production' &&
        current.type !== 'web' &&
        !current.requireDpop &&
        !environment.requireDpop && (
          <p className="alert alert-info" data-testid="dpop-note">
            <strong>This public client’s tokens are not bound to a key.</strong> A token copied from
            the device or the browser works anywhere. Public clients registered in production
            require DPoP (RFC 9449) by default; turn on “Require DPoP” below once the application
            sends DPoP proofs.
          </p>
        )}
      {current.managedBy !== null && (
        <p className="alert alert-info">
          This client is declared under the key <code>{current.managedBy}</code> in a file applied
          with <code>gatehouse apply</code>: changes made here are undone when that file is applied
          again.
        </p>
      )}
      <dl className="details" data-testid="client-details">
        <div>
          <dt>Client ID</dt>
          <dd>
            <code data-testid="client-id">{current.clientId}</code>
          </dd>
        </div>
        <div>
          <dt>Type</dt>
          <dd>{TYPE_LABELS[current.type] ?? current.type}</dd>
        </div>
        <div>
          <dt>Grant types</dt>
          <dd>
            {current.grantTypes.length === 0 ? (
              <span className="muted">none</span>
            ) : (
              current.grantTypes.map((grant) => (
                <code key={grant} className="chip">
                  {grant}
                </code>
              ))
            )}
          </dd>
        </div>
        <div>
          <dt>Skip consent</dt>
          <dd>{current.skipConsent ? 'yes' : 'no'}</dd>
        </div>
        {current.managedBy !== null && (
          <div>
            <dt>Managed by</dt>
            <dd>
              <code>{current.managedBy}</code>
            </dd>
          </div>
        )}
        {current.promotedFrom !== null && (
          <div>
            <dt>Promoted from</dt>
            <dd>
              {promotedFrom === null ? (
                <code>{current.promotedFrom}</code>
              ) : (
                <Link to={promotedFrom}>
                  <code>{current.promotedFrom}</code>
                </Link>
              )}
            </dd>
          </div>
        )}
        <div>
          <dt>Resources</dt>
          <dd data-testid="client-allowed-resources">
            {current.allowedResources === null ? (
              <span className="muted">any the environment allows</span>
            ) : (
              <UriChips uris={current.allowedResources} />
            )}
          </dd>
        </div>
        <div>
          <dt>Token exchange audiences</dt>
          <dd data-testid="client-exchange-audiences">
            <UriChips uris={current.exchangeAudiences ?? []} />
          </dd>
        </div>
        <div>
          <dt>Client authentication</dt>
          <dd data-testid="client-auth-method">
            {current.tokenEndpointAuthMethod ??
              (current.type === 'web' ? 'client secret' : 'none (public)')}
          </dd>
        </div>
        <div>
          <dt>ID token algorithm</dt>
          <dd>{current.idTokenSignedResponseAlg ?? 'RS256 (default)'}</dd>
        </div>
        {(current.jwks !== null || current.jwksUri !== null) && (
          <div>
            <dt>Keys</dt>
            <dd data-testid="client-keys">
              {current.jwksUri !== null ? (
                <code>{current.jwksUri}</code>
              ) : (
                (current.jwks?.keys ?? []).map((key, i) => (
                  <code key={`${String(i)} ${String(key.kid)}`} className="chip">
                    {typeof key.kid === 'string' ? key.kid : `key ${String(i + 1)}`}
                  </code>
                ))
              )}
            </dd>
          </div>
        )}
        <div>
          <dt>Post-logout redirect URIs</dt>
          <dd data-testid="client-post-logout-uris">
            <UriChips uris={current.postLogoutRedirectUris} />
          </dd>
        </div>
        <div>
          <dt>Back-channel logout</dt>
          <dd>
            {current.backchannelLogoutUri === null ? (
              <span className="muted">none</span>
            ) : (
              <code>{current.backchannelLogoutUri}</code>
            )}
          </dd>
        </div>
        <div>
          <dt>Pushed authorization requests</dt>
          <dd data-testid="client-require-par">
            {current.requirePar
              ? 'required'
              : environment.requirePar
                ? 'required by the environment'
                : 'optional'}
          </dd>
        </div>
        <div>
          <dt>DPoP (tokens bound to a key)</dt>
          <dd data-testid="client-require-dpop">
            {current.requireDpop
              ? 'required'
              : environment.requireDpop
                ? 'required by the environment'
                : 'optional'}
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <DateTime ms={current.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>
            <DateTime ms={current.updatedAt} />
          </dd>
        </div>
      </dl>

      {can.manage && <SettingsSection key={current.updatedAt} client={current} />}
      {can.manage && <ProtocolSection client={current} />}
      <CredentialsSection client={current} />
      <RedirectUrisSection environment={environment} client={current} />
      <RefusedRedirectsSection client={current} />
      {can.manage && (
        <PromoteSection
          client={current}
          targets={environments.data.filter((e) => e.name !== env)}
        />
      )}
      {can.impersonate && <ImpersonateSection environment={environment} client={current} />}
      {can.manage && <DeleteClientSection client={current} />}
    </div>
  );
}
