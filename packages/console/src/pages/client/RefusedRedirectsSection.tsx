import { useCallback, useState } from 'react';
import { addRedirectUri, listRefusedRedirects } from '../../api/admin';
import type { Client, RefusedRedirect } from '../../api/types';
import { ErrorAlert, Loading } from '../../components/Feedback';
import { UriDiff } from '../../components/UriDiff';
import { formatDateTime, formatRelative, plural } from '../../format';
import { useNow, useResource } from '../../hooks';
import { useSession } from '../../session';

/**
 * Redirect URIs that real authorization requests used and the policy refused, each next to the
 * closest registration with the difference highlighted, and a way to register it when the policy
 * allows.
 */
export function RefusedRedirectsSection({
  client,
  onChanged,
}: {
  readonly client: Client;
  readonly onChanged: () => void;
}) {
  const { environment, clientId, updatedAt } = client;
  // Reloaded whenever the client changes: a registration changes what is refused and how.
  const refused = useResource(
    useCallback(
      () => listRefusedRedirects(environment, clientId).then((list) => ({ list, updatedAt })),
      [environment, clientId, updatedAt],
    ),
  );

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
        refused.status === 'loading' && <Loading what="refused redirects" />
      ) : refused.data.list.length === 0 ? (
        <p className="muted">No refused redirects.</p>
      ) : (
        <ul className="refused-list">
          {refused.data.list.map((entry) => (
            <RefusedItem key={entry.uri} client={client} entry={entry} onRegistered={onChanged} />
          ))}
        </ul>
      )}
    </section>
  );
}

function RefusedItem({
  client,
  entry,
  onRegistered,
}: {
  readonly client: Client;
  readonly entry: RefusedRedirect;
  readonly onRegistered: () => void;
}) {
  const { can } = useSession();
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const register = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await addRedirectUri(client.environment, client.clientId, entry.uri);
      onRegistered();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };

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
            disabled={busy}
            onClick={() => {
              void register();
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
      <ErrorAlert error={error} />
    </li>
  );
}
