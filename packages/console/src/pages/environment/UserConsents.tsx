import { Link } from 'react-router';
import { revokeConsent } from '../../api/admin';
import { keys, useAction, useConsents } from '../../api/queries';
import type { Consent, User } from '../../api/types';
import { Badge } from '../../components/Badges';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ListState, Table } from '../../components/Feedback';
import { DateTime } from '../../components/Values';
import { paths } from '../../paths';
import { useSession } from '../../session';

/** Scopes as chips, or "none". */
function Scopes({ scopes }: { readonly scopes: readonly string[] }) {
  if (scopes.length === 0) return <span className="muted">none</span>;
  return scopes.map((scope) => (
    <code key={scope} className="chip">
      {scope}
    </code>
  ));
}

/**
 * What a user granted each client (and, for an agent, that it may act for them by token
 * exchange), when; an admin may revoke each: the client asks again.
 */
export function UserConsents({
  env,
  user,
  id,
  onClose,
}: {
  readonly env: string;
  readonly user: User;
  /** The section's id, for the button that opens it (`aria-controls`). */
  readonly id: string;
  readonly onClose: () => void;
}) {
  const { can } = useSession();
  const consents = useConsents(env, user.id);
  const revoke = useAction({
    run: (clientId: string) => revokeConsent(env, user.id, clientId),
    invalidates: () => [keys.consents(env, user.id)],
  });
  const headingId = `${id}-heading`;

  return (
    <section id={id} className="subpanel" aria-labelledby={headingId} data-testid="user-consents">
      <h3 id={headingId}>Consents of {user.email}</h3>
      <ListState
        query={consents}
        what="consents"
        error={revoke.error}
        empty={<p className="muted">No consents</p>}
      >
        {(list) => (
          <Table columns={['Client', 'Scopes', 'Resources', 'Granted']} actions={can.manage}>
            {list.map((consent) => (
              <tr key={consent.clientId} data-testid="consent-row">
                <td className="break">
                  <ClientName env={env} consent={consent} />
                </td>
                <td>
                  <Scopes scopes={consent.scopes} />
                </td>
                <td>
                  {consent.resources.length === 0 ? (
                    <span className="muted">none</span>
                  ) : (
                    <ul className="consent-resources">
                      {consent.resources.map((resource) => (
                        <li key={resource.uri}>
                          <code className="break">{resource.uri}</code>{' '}
                          <Scopes scopes={resource.scopes} />
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  <DateTime ms={consent.grantedAt} />
                </td>
                {can.manage && (
                  <td className="row-actions">
                    <ConfirmButton
                      className="button danger small"
                      aria-label={`Revoke consent of ${user.email} for ${consent.clientName ?? consent.clientId}`}
                      title={`Revoke what ${user.email} granted ${consent.clientName ?? consent.clientId}?`}
                      message={
                        <p>
                          The client asks {user.email} again
                          {consent.agent && ', and may no longer act for them by token exchange'}.
                          Tokens already issued stay valid until they expire or are revoked.
                        </p>
                      }
                      confirmLabel="Revoke consent"
                      disabled={revoke.isPending}
                      onConfirm={() => {
                        revoke.mutate(consent.clientId);
                      }}
                    >
                      Revoke
                    </ConfirmButton>
                  </td>
                )}
              </tr>
            ))}
          </Table>
        )}
      </ListState>
      <div className="actions">
        <button type="button" className="button secondary small" onClick={onClose}>
          Close
        </button>
      </div>
    </section>
  );
}

/** The client's name linking to it (its id below), or the id alone when it has no name. */
function ClientName({ env, consent }: { readonly env: string; readonly consent: Consent }) {
  return (
    <>
      <Link to={paths.client(env, consent.clientId)}>
        {consent.clientName ?? <code>{consent.clientId}</code>}
      </Link>
      {consent.agent && (
        <>
          {' '}
          <Badge tone="info" title="Has token exchange: may act for the user (RFC 8693)">
            agent
          </Badge>
        </>
      )}
      {consent.clientName !== null && (
        <div className="muted">
          <code>{consent.clientId}</code>
        </div>
      )}
    </>
  );
}
