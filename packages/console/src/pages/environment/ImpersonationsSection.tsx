import { endImpersonation } from '../../api/admin';
import { keys, useAction, useImpersonations } from '../../api/queries';
import { ListState, Table } from '../../components/Feedback';
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
  const active = impersonations.data?.filter((i) => i.active && i.expiresAt > now);

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
        {(list) => (
          <Table
            columns={['User', 'Client', 'Operator', 'Reason', 'Expires']}
            actions={can.impersonate}
          >
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
          </Table>
        )}
      </ListState>
    </section>
  );
}
