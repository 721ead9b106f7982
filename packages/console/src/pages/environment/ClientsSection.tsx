import { useClients } from '../../api/queries';
import { Badge, KindBadge } from '../../components/Badges';
import { ErrorAlert, Loading } from '../../components/Feedback';
import { Link } from 'react-router';
import { paths } from '../../paths';

export function ClientsSection({ env }: { readonly env: string }) {
  const clients = useClients(env);
  return (
    <section id="clients" className="panel" aria-labelledby="clients-heading">
      <h2 id="clients-heading">Clients</h2>
      <ErrorAlert error={clients.error} />
      {clients.data === undefined ? (
        clients.isPending && <Loading what="clients" />
      ) : clients.data.length === 0 ? (
        <p className="muted">No clients yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client ID</th>
                <th scope="col">Type</th>
                <th scope="col">Redirect URIs</th>
              </tr>
            </thead>
            <tbody>
              {clients.data.map((client) => (
                <tr key={client.clientId} data-testid="client-row">
                  <td>
                    <Link to={paths.client(env, client.clientId)}>{client.name}</Link>{' '}
                    <KindBadge kind={client.kind} />
                    {client.managedBy !== null && (
                      <Badge tone="info" title={`Managed by ${client.managedBy}`}>
                        managed by file
                      </Badge>
                    )}
                  </td>
                  <td>
                    <code>{client.clientId}</code>
                  </td>
                  <td>{client.type}</td>
                  <td className="numeric">{client.redirectUris.length}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
