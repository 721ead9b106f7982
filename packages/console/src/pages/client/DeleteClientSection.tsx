import { useNavigate } from 'react-router';
import { deleteClient } from '../../api/admin';
import { keys, useAction } from '../../api/queries';
import type { Client } from '../../api/types';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/Feedback';
import { paths } from '../../paths';

export function DeleteClientSection({ client }: { readonly client: Client }) {
  const navigate = useNavigate();
  const remove = useAction({
    run: () => deleteClient(client.environment, client.clientId),
    invalidates: () => [keys.clients(client.environment), keys.environments],
    onDone: () => {
      void navigate(paths.environment(client.environment));
    },
  });

  return (
    <section className="panel danger-zone" aria-labelledby="delete-client-heading">
      <h2 id="delete-client-heading">Delete client</h2>
      <p>Applications using this client can no longer sign anyone in. This cannot be undone.</p>
      <ConfirmButton
        title={`Delete ${client.name}?`}
        message={
          <p>
            The client <code>{client.clientId}</code> is deleted from {client.environment}. This
            cannot be undone.
          </p>
        }
        confirmLabel="Delete client"
        onConfirm={() => {
          remove.mutate();
        }}
      >
        Delete client
      </ConfirmButton>
      <ErrorAlert error={remove.error} />
    </section>
  );
}
