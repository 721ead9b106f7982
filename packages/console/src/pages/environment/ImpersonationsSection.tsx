import { endImpersonation } from '../../api/admin';
import { keys, useAction, useImpersonations } from '../../api/queries';
import type { Impersonation } from '../../api/types';
import { ListState, Table } from '../../components/Feedback';
import { formatDateTime, formatRelative } from '../../format';
import { useNow } from '../../hooks';
import { Link } from 'react-router';
import { paths } from '../../paths';
import { mayEndImpersonation, useSession } from '../../session';

export function ImpersonationsSection({ env }: { readonly env: string }) {
  const session = useSession();
  const now = useNow();
  const impersonations = useImpersonations(env);
  const end = useAction({
    run: (id: string) => endImpersonation(env, id),
    invalidates: () => [keys.impersonations(env)],
  });
  const active = impersonations.data?.filter((i) => i.active && i.expiresAt > now);
  // Only its operator or an admin may end an impersonation.
  const mayEnd = (impersonation: Impersonation) => mayEndImpersonation(session, impersonation);

  return (
    <section id="impersonations" className="panel" aria-labelledby="impersonations-heading">
      <h2 id="impersonations-heading">Active impersonations</h2>
      <ListState
        query={impersonations}
        what="impersonations"
        error={end.error}
        items={active}
        empty={<p className="muted">No active impersonations.</p>}
      >
        {(list) => {
          const actions = list.some(mayEnd);
          return (
            <Table columns={['User', 'Client', 'Operator', 'Reason', 'Expires']} actions={actions}>
              {list.map((impersonation) => (
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
                  {actions && (
                    <td className="row-actions">
                      {mayEnd(impersonation) && (
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
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </Table>
          );
        }}
      </ListState>
    </section>
  );
}
