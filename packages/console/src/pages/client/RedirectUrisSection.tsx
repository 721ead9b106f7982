import { useId, useState } from 'react';
import { addRedirectUri, removeRedirectUri } from '../../api/admin';
import { clientKeys, useAction } from '../../api/queries';
import type { Client, Environment, ExpiresIn } from '../../api/types';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/Feedback';
import { ActionForm, SelectField, TextField, URI_INPUT } from '../../components/Form';
import { LintNotes, PolicyFeedback } from '../../components/PolicyFeedback';
import { formatDateTime, formatRelative } from '../../format';
import { useNow } from '../../hooks';
import { lint, lintWith, policyContext, validate } from '../../policy';
import { useSession } from '../../session';

const EXPIRY_OPTIONS: readonly { value: '' | ExpiresIn; label: string }[] = [
  { value: '', label: 'Never' },
  { value: '1h', label: 'In 1 hour' },
  { value: '1d', label: 'In 1 day' },
  { value: '7d', label: 'In 7 days' },
  { value: '30d', label: 'In 30 days' },
];

export function RedirectUrisSection({
  environment,
  client,
}: {
  readonly environment: Environment;
  readonly client: Client;
}) {
  const { can } = useSession();
  const now = useNow();
  const registered = client.redirectUris.map((entry) => entry.uri);
  const registeredWarnings = lint(registered, policyContext(environment, client.type));

  const remove = useAction({
    run: (uri: string) => removeRedirectUri(client.environment, client.clientId, uri),
    invalidates: () => clientKeys(client),
  });

  return (
    <section className="panel" aria-labelledby="redirect-uris-heading">
      <h2 id="redirect-uris-heading">Redirect URIs</h2>
      {client.redirectUris.length === 0 ? (
        <p className="muted">No redirect URIs registered.</p>
      ) : (
        <ul className="uri-list" data-testid="redirect-uris">
          {client.redirectUris.map((entry) => (
            <li key={entry.uri} data-testid="redirect-uri">
              <code className="uri">{entry.uri}</code>
              {entry.expiresAt !== null && (
                <span className="expiry" title={formatDateTime(entry.expiresAt)}>
                  {entry.expiresAt > now
                    ? `expires ${formatRelative(entry.expiresAt, now)}`
                    : `expired ${formatRelative(entry.expiresAt, now)}`}
                </span>
              )}
              {can.manage && (
                <ConfirmButton
                  className="button danger small"
                  aria-label={`Remove ${entry.uri}`}
                  title="Remove this redirect URI?"
                  message={
                    <p>
                      Sign-ins that come back to <code>{entry.uri}</code> are refused from now on.
                    </p>
                  }
                  confirmLabel="Remove redirect URI"
                  onConfirm={() => {
                    remove.mutate(entry.uri);
                  }}
                >
                  Remove
                </ConfirmButton>
              )}
            </li>
          ))}
        </ul>
      )}
      <LintNotes warnings={registeredWarnings} label="Note:" testId="registered-warning" />
      <ErrorAlert error={remove.error} />
      {can.manage && <AddRedirectUriForm environment={environment} client={client} />}
    </section>
  );
}

function AddRedirectUriForm({
  environment,
  client,
}: {
  readonly environment: Environment;
  readonly client: Client;
}) {
  const messageId = useId();
  const [uri, setUri] = useState('');
  const [expiresIn, setExpiresIn] = useState<'' | ExpiresIn>('');
  const add = useAction({
    run: () =>
      addRedirectUri(
        client.environment,
        client.clientId,
        uri,
        expiresIn === '' ? undefined : expiresIn,
      ).then((answer) => ({ uri, warnings: answer.warnings })),
    invalidates: () => clientKeys(client),
    onDone: () => {
      setUri('');
      setExpiresIn('');
    },
  });

  const context = policyContext(environment, client.type);
  const result = uri === '' ? null : validate(uri, context);
  const registered = client.redirectUris.map((entry) => entry.uri);
  const warnings = result?.ok === true ? lintWith(registered, uri, context) : [];

  return (
    <ActionForm
      className="form subpanel"
      aria-labelledby="add-redirect-uri-heading"
      data-testid="add-redirect-uri-form"
      action={add}
      submitLabel="Add redirect URI"
      busyLabel="Adding…"
      canSubmit={result !== null && result.ok}
    >
      <h3 id="add-redirect-uri-heading">Add redirect URI</h3>
      <div className="form-row">
        <TextField
          fieldClassName="field grow"
          label="Redirect URI"
          {...URI_INPUT}
          value={uri}
          aria-describedby={messageId}
          aria-invalid={result !== null && !result.ok}
          onChange={(value) => {
            setUri(value);
            add.reset();
          }}
        />
        <SelectField
          label="Expires"
          value={expiresIn}
          options={EXPIRY_OPTIONS}
          onChange={setExpiresIn}
        />
      </div>
      <PolicyFeedback id={messageId} result={result} warnings={warnings} onUseSuggestion={setUri} />
      {add.isSuccess && (
        <div className="alert alert-success" role="status">
          <p>
            Added <code>{add.data.uri}</code>.
          </p>
          <LintNotes warnings={add.data.warnings} />
        </div>
      )}
    </ActionForm>
  );
}
