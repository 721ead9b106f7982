import { endImpersonation } from '../../api/admin';
import { keys, useAction, useImpersonations } from '../../api/queries';
import { ErrorAlert, Loading } from '../../components/Feedback';
import { formatDateTime, formatRelative } from '../../format';
import { useNow } from '../../hooks';
import { Link } from 'react-router';
import { paths } from '../../paths';
import { useSession } from '../../session';

export function ImpersonationsSection({ env }: { readonly env: string }) {
  const { can } = useSession();
  const now = useNow();
  const impersonations = useImpersonations(env);
  const end = useAction({
    run: (id: string) => endImpersonation(env, id),
    invalidates: () => [keys.impersonations(env)],
  });
  const active = (impersonations.data ?? []).filter((i) => i.active && i.expiresAt > now);

  return (
    <section id="impersonations" className="panel" aria-labelledby="impersonations-heading">
      <h2 id="impersonations-heading">Active impersonations</h2>
      <ErrorAlert error={impersonations.error ?? end.error} />
      {impersonations.data === undefined ? (
        impersonations.isPending && <Loading what="impersonations" />
      ) : active.length === 0 ? (
        <p className="muted">No active impersonations.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Client</th>
                <th scope="col">Operator</th>
                <th scope="col">Reason</th>
                <th scope="col">Expires</th>
                {can.impersonate && (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {active.map((impersonation) => (
                <tr key={impersonation.id} data-testid="impersonation-row">
                  <td>{impersonation.userEmail}</td>
                  <td>
                    <Link to={paths.client(env, impersonation.clientId)}>
                      {impersonation.clientName}
                    </Link>
                  </td>
                  <td>{impersonation.operatorEmail}</td>
                  <td className="reason">{impersonation.reason}</td>
                  <td title={formatDateTime(impersonation.expiresAt)}>
                    {formatRelative(impersonation.expiresAt, now)}
                  </td>
                  {can.impersonate && (
                    <td className="row-actions">
                      <button
                        type="button"
                        className="button danger small"
                        aria-label={`End impersonation of ${impersonation.userEmail}`}
                        onClick={() => {
                          end.mutate(impersonation.id);
                        }}
                      >
                        End
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
