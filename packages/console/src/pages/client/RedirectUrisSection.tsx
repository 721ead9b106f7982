import { useId, useState, type SubmitEvent } from 'react';
import { addRedirectUri, removeRedirectUri } from '../../api/admin';
import type { Client, Environment, ExpiresIn, LintWarning } from '../../api/types';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert } from '../../components/Feedback';
import { PolicyFeedback } from '../../components/PolicyFeedback';
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
  onChanged,
}: {
  readonly environment: Environment;
  readonly client: Client;
  readonly onChanged: () => void;
}) {
  const { can } = useSession();
  const now = useNow();
  const [error, setError] = useState<unknown>(undefined);
  const registered = client.redirectUris.map((entry) => entry.uri);
  const registeredWarnings = lint(registered, policyContext(environment.tier, client.type));

  const remove = async (uri: string): Promise<void> => {
    setError(undefined);
    try {
      await removeRedirectUri(client.environment, client.clientId, uri);
      onChanged();
    } catch (caught) {
      setError(caught);
    }
  };

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
                    void remove(entry.uri);
                  }}
                >
                  Remove
                </ConfirmButton>
              )}
            </li>
          ))}
        </ul>
      )}
      {registeredWarnings.map((warning) => (
        <p
          key={`${warning.code} ${warning.uris.join(' ')}`}
          className="lint-note"
          data-testid="registered-warning"
        >
          <span className="policy-warning-label">Note:</span> {warning.message}
        </p>
      ))}
      <ErrorAlert error={error} />
      {can.manage && (
        <AddRedirectUriForm environment={environment} client={client} onAdded={onChanged} />
      )}
    </section>
  );
}

function AddRedirectUriForm({
  environment,
  client,
  onAdded,
}: {
  readonly environment: Environment;
  readonly client: Client;
  readonly onAdded: () => void;
}) {
  const ids = { uri: useId(), message: useId(), expiry: useId() };
  const [uri, setUri] = useState('');
  const [expiresIn, setExpiresIn] = useState<'' | ExpiresIn>('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [added, setAdded] = useState<{
    uri: string;
    warnings: readonly LintWarning[];
  } | null>(null);

  const context = policyContext(environment.tier, client.type);
  const result = uri === '' ? null : validate(uri, context);
  const registered = client.redirectUris.map((entry) => entry.uri);
  const warnings = result?.ok === true ? lintWith(registered, uri, context) : [];
  const canSubmit = !busy && result !== null && result.ok;

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    if (!canSubmit) return;
    setBusy(true);
    setError(undefined);
    setAdded(null);
    try {
      const answer = await addRedirectUri(
        client.environment,
        client.clientId,
        uri,
        expiresIn === '' ? undefined : expiresIn,
      );
      setAdded({ uri, warnings: answer.warnings });
      setUri('');
      setExpiresIn('');
      onAdded();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="form subpanel"
      aria-labelledby={`${ids.uri}-heading`}
      data-testid="add-redirect-uri-form"
      onSubmit={(event) => {
        void submit(event);
      }}
    >
      <h3 id={`${ids.uri}-heading`}>Add redirect URI</h3>
      <div className="form-row">
        <div className="field grow">
          <label htmlFor={ids.uri}>Redirect URI</label>
          <input
            id={ids.uri}
            className="mono"
            type="text"
            inputMode="url"
            autoComplete="off"
            autoCapitalize="off"
            autoCorrect="off"
            spellCheck={false}
            value={uri}
            aria-describedby={ids.message}
            aria-invalid={result !== null && !result.ok}
            onChange={(event) => {
              setUri(event.target.value);
              setAdded(null);
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.expiry}>Expires</label>
          <select
            id={ids.expiry}
            value={expiresIn}
            onChange={(event) => {
              setExpiresIn(event.target.value as '' | ExpiresIn);
            }}
          >
            {EXPIRY_OPTIONS.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <PolicyFeedback
        id={ids.message}
        result={result}
        warnings={warnings}
        onUseSuggestion={(suggestion) => {
          setUri(suggestion);
        }}
      />
      <ErrorAlert error={error} />
      <div className="actions">
        <button type="submit" className="button primary" disabled={!canSubmit}>
          {busy ? 'Adding…' : 'Add redirect URI'}
        </button>
      </div>
      {added !== null && (
        <div className="alert alert-success" role="status">
          <p>
            Added <code>{added.uri}</code>.
          </p>
          {added.warnings.map((warning) => (
            <p key={`${warning.code} ${warning.uris.join(' ')}`} className="lint-note">
              <span className="policy-warning-label">Warning:</span> {warning.message}
            </p>
          ))}
        </div>
      )}
    </form>
  );
}
