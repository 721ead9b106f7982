import { useState } from 'react';
import { deleteClient } from '../../api/admin';
import type { Client } from '../../api/types';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/Feedback';
import { navigate, paths } from '../../router';

export function DeleteClientSection({ client }: { readonly client: Client }) {
  const [error, setError] = useState<unknown>(undefined);

  const remove = async (): Promise<void> => {
    setError(undefined);
    try {
      await deleteClient(client.environment, client.clientId);
      navigate(paths.environment(client.environment));
    } catch (caught) {
      setError(caught);
    }
  };

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
          void remove();
        }}
      >
        Delete client
      </ConfirmButton>
      <ErrorAlert error={error} />
    </section>
  );
}
