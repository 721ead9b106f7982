import { rotateSecret } from '../../api/admin';
import { clientKeys, useAction } from '../../api/queries';
import type { Client } from '../../api/types';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/Feedback';
import { SecretOnce } from '../../components/SecretOnce';
import { useSession } from '../../session';

export function CredentialsSection({ client }: { readonly client: Client }) {
  const { can } = useSession();
  const rotate = useAction({
    run: () => rotateSecret(client.environment, client.clientId),
    invalidates: () => clientKeys(client),
  });

  return (
    <section className="panel" aria-labelledby="credentials-heading">
      <h2 id="credentials-heading">Credentials</h2>
      {client.type !== 'web' ? (
        <p>A public client: it has no secret and proves itself with PKCE.</p>
      ) : client.tokenEndpointAuthMethod === 'private_key_jwt' ? (
        <p>
          A confidential client that authenticates with a signed assertion (private_key_jwt) made
          with its own keys: it has no secret.
        </p>
      ) : (
        <>
          <p>
            A confidential client: it authenticates with a client secret.{' '}
            {client.hasSecret ? 'A secret is set.' : 'No secret is set.'}
          </p>
          {can.manage && (
            <ConfirmButton
              className="button secondary"
              disabled={rotate.isPending}
              title="Rotate the client secret?"
              message="A new secret is issued and the current one stops working at once: the application must be given the new one."
              confirmLabel="Rotate secret"
              onConfirm={() => {
                rotate.mutate();
              }}
            >
              Rotate secret
            </ConfirmButton>
          )}
          <ErrorAlert error={rotate.error} />
          {rotate.isSuccess && (
            <SecretOnce secret={rotate.data.clientSecret} title="New client secret" />
          )}
        </>
      )}
    </section>
  );
}
