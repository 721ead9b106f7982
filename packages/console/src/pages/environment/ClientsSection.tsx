import { useClients } from '../../api/queries';
import { Badge, KindBadge } from '../../components/Badges';
import { ListState, Table } from '../../components/Feedback';
import { Link } from 'react-router';
import { paths } from '../../paths';

export function ClientsSection({ env }: { readonly env: string }) {
  const clients = useClients(env);
  return (
    <section id="clients" className="panel" aria-labelledby="clients-heading">
      <h2 id="clients-heading">Clients</h2>
      <ListState query={clients} what="clients" empty={<p className="muted">No clients yet.</p>}>
        {(list) => (
          <Table columns={['Name', 'Client ID', 'Type', 'Redirect URIs']}>
            {list.map((client) => (
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
          </Table>
        )}
      </ListState>
    </section>
  );
}
