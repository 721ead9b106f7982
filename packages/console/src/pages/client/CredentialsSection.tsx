import { useState } from 'react';
import { rotateSecret } from '../../api/admin';
import type { Client } from '../../api/types';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/Feedback';
import { SecretOnce } from '../../components/SecretOnce';
import { useSession } from '../../session';

export function CredentialsSection({
  client,
  onChanged,
}: {
  readonly client: Client;
  readonly onChanged: () => void;
}) {
  const { can } = useSession();
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const rotate = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    setSecret(null);
    try {
      const answer = await rotateSecret(client.environment, client.clientId);
      setSecret(answer.clientSecret);
      onChanged();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="credentials-heading">
      <h2 id="credentials-heading">Credentials</h2>
      {client.type === 'native' ? (
        <p>A public client: it has no secret and proves itself with PKCE.</p>
      ) : (
        <>
          <p>
            A confidential client: it authenticates with a client secret.{' '}
            {client.hasSecret ? 'A secret is set.' : 'No secret is set.'}
          </p>
          {can.manage && (
            <ConfirmButton
              className="button secondary"
              disabled={busy}
              title="Rotate the client secret?"
              message="A new secret is issued and the current one stops working at once: the application must be given the new one."
              confirmLabel="Rotate secret"
              onConfirm={() => {
                void rotate();
              }}
            >
              Rotate secret
            </ConfirmButton>
          )}
          <ErrorAlert error={error} />
          {secret !== null && <SecretOnce secret={secret} title="New client secret" />}
        </>
      )}
    </section>
  );
}
