import { addRedirectUri } from '../../api/admin';
import { clientKeys, useAction, useRefusedRedirects } from '../../api/queries';
import type { Client, RefusedRedirect } from '../../api/types';
import { ErrorAlert, Loading } from '../../components/Feedback';
import { UriDiff } from '../../components/UriDiff';
import { formatDateTime, formatRelative, plural } from '../../format';
import { useNow } from '../../hooks';
import { useSession } from '../../session';

/**
 * Redirect URIs that real authorization requests used and the policy refused, each next to the
 * closest registration with the difference highlighted, and a way to register it when the policy
 * allows.
 */
export function RefusedRedirectsSection({ client }: { readonly client: Client }) {
  // Refetched with the client (`clientKeys`): a registration changes what is refused and how.
  const refused = useRefusedRedirects(client.environment, client.clientId);

  return (
    <section
      className="panel"
      aria-labelledby="refused-redirects-heading"
      data-testid="refused-redirects"
    >
      <h2 id="refused-redirects-heading">Refused redirects</h2>
      <p className="hint">
        Redirect URIs that authorization requests for this client asked for and Gatehouse refused.
      </p>
      <ErrorAlert error={refused.error} />
      {refused.data === undefined ? (
        refused.isPending && <Loading what="refused redirects" />
      ) : refused.data.length === 0 ? (
        <p className="muted">No refused redirects.</p>
      ) : (
        <ul className="refused-list">
          {refused.data.map((entry) => (
            <RefusedItem key={entry.uri} client={client} entry={entry} />
          ))}
        </ul>
      )}
    </section>
  );
}

function RefusedItem({
  client,
  entry,
}: {
  readonly client: Client;
  readonly entry: RefusedRedirect;
}) {
  const { can } = useSession();
  const now = useNow();
  const register = useAction({
    run: () => addRedirectUri(client.environment, client.clientId, entry.uri),
    invalidates: () => clientKeys(client),
  });

  return (
    <li className="refused-item" data-testid="refused-redirect">
      <p className="refused-uri">
        <code>{entry.uri}</code>
      </p>
      <p className="refused-meta">
        Refused {plural(entry.count, 'time')}; first{' '}
        <span title={formatDateTime(entry.firstSeenAt)}>
          {formatRelative(entry.firstSeenAt, now)}
        </span>
        , last{' '}
        <span title={formatDateTime(entry.lastSeenAt)}>
          {formatRelative(entry.lastSeenAt, now)}
        </span>
        .
      </p>
      {entry.closest === null ? (
        <p className="muted">The client has no registered redirect URI to compare it with.</p>
      ) : (
        <>
          <UriDiff requested={entry.uri} closest={entry.closest} diff={entry.diff} />
          {entry.diff !== null && (
            <p className="diff-description" data-testid="diff-description">
              The request {entry.diff.description}.
            </p>
          )}
        </>
      )}
      {entry.registrable.ok ? (
        can.manage && (
          <button
            type="button"
            className="button secondary"
            data-testid="register-refused"
            disabled={register.isPending || register.isSuccess}
            onClick={() => {
              register.mutate();
            }}
          >
            Register this URI
          </button>
        )
      ) : (
        <p className="refused-reason" data-testid="not-registrable">
          Cannot be registered: {entry.registrable.message}
        </p>
      )}
      <ErrorAlert error={register.error} />
    </li>
  );
}
