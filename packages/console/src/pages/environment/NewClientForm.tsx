import { useId, useState, type SubmitEvent } from 'react';
import { createClient, type NewClient } from '../../api/admin';
import {
  GRANT_TYPES,
  type ClientType,
  type CreatedClient,
  type Environment,
} from '../../api/types';
import { ErrorAlert } from '../../components/Feedback';
import { SecretOnce } from '../../components/SecretOnce';
import { acceptedMessage, lines, lint, policyContext, validate } from '../../policy';
import { Link, paths } from '../../router';

const CLIENT_TYPES: readonly { value: ClientType; label: string }[] = [
  { value: 'web', label: 'Web (confidential, server-side)' },
  { value: 'native', label: 'Native (public: CLI, desktop, mobile)' },
];

export function NewClientForm({
  environment,
  onCreated,
}: {
  readonly environment: Environment;
  readonly onCreated: () => void;
}) {
  const ids = { name: useId(), type: useId(), uris: useId(), skip: useId(), grants: useId() };
  const [name, setName] = useState('');
  const [type, setType] = useState<ClientType>('web');
  const [urisText, setUrisText] = useState('');
  const [grants, setGrants] = useState<readonly string[]>([]);
  const [skipConsent, setSkipConsent] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<CreatedClient | null>(null);

  const context = policyContext(environment.tier, type);
  const uris = lines(urisText);
  const checked = uris.map((uri, index) => ({ uri, index, result: validate(uri, context) }));
  const refusedCount = checked.filter((line) => !line.result.ok).length;
  const warnings = lint(uris, context);
  const canSubmit = !busy && name.trim() !== '' && refusedCount === 0;

  const replaceLine = (index: number, replacement: string): void => {
    setUrisText(uris.map((uri, i) => (i === index ? replacement : uri)).join('\n'));
  };

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    if (!canSubmit) return;
    setBusy(true);
    setError(undefined);
    const spec: NewClient = {
      name: name.trim(),
      type,
      redirectUris: uris,
      ...(grants.length === 0 ? {} : { grantTypes: grants }),
      ...(skipConsent ? { skipConsent } : {}),
    };
    try {
      setCreated(await createClient(environment.name, spec));
      setName('');
      setUrisText('');
      setGrants([]);
      setSkipConsent(false);
      onCreated();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section id="new-client" className="panel" aria-labelledby="new-client-heading">
      <h2 id="new-client-heading">New client</h2>
      {created !== null ? (
        <CreatedClientBox
          created={created}
          onAnother={() => {
            setCreated(null);
          }}
        />
      ) : (
        <form
          className="form"
          data-testid="new-client-form"
          onSubmit={(event) => {
            void submit(event);
          }}
        >
          <div className="form-row">
            <div className="field">
              <label htmlFor={ids.name}>Client name</label>
              <input
                id={ids.name}
                required
                maxLength={100}
                autoComplete="off"
                value={name}
                onChange={(event) => {
                  setName(event.target.value);
                }}
              />
            </div>
            <div className="field">
              <label htmlFor={ids.type}>Client type</label>
              <select
                id={ids.type}
                value={type}
                onChange={(event) => {
                  setType(event.target.value as ClientType);
                }}
              >
                {CLIENT_TYPES.map((option) => (
                  <option key={option.value} value={option.value}>
                    {option.label}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <div className="field">
            <label htmlFor={ids.uris}>Redirect URIs</label>
            <textarea
              id={ids.uris}
              className="mono"
              rows={4}
              spellCheck={false}
              autoCapitalize="off"
              autoCorrect="off"
              value={urisText}
              aria-describedby={`${ids.uris}-hint ${ids.uris}-lines`}
              aria-invalid={refusedCount > 0}
              onChange={(event) => {
                setUrisText(event.target.value);
              }}
            />
            <p id={`${ids.uris}-hint`} className="hint">
              One per line, checked against the {environment.tier} policy as you type.
            </p>
            <ul
              id={`${ids.uris}-lines`}
              className="policy-lines"
              aria-live="polite"
              aria-label="Redirect URI checks"
            >
              {checked.map(({ uri, index, result }) => (
                <li
                  key={`${String(index)} ${uri}`}
                  className={`policy-line ${result.ok ? 'policy-ok' : 'policy-refused'}`}
                  data-testid="policy-line"
                  data-state={result.ok ? 'ok' : 'refused'}
                >
                  <code>{uri}</code>
                  <span className="policy-line-message">
                    {result.ok ? acceptedMessage(result.kind) : result.message}
                  </span>
                  {!result.ok && result.suggestion !== undefined && (
                    <span className="policy-suggestion">
                      Suggestion: <code>{result.suggestion}</code>{' '}
                      <button
                        type="button"
                        className="button secondary small"
                        onClick={() => {
                          if (result.suggestion !== undefined) {
                            replaceLine(index, result.suggestion);
                          }
                        }}
                      >
                        Use suggestion
                      </button>
                    </span>
                  )}
                </li>
              ))}
            </ul>
            {warnings.map((warning) => (
              <p
                key={`${warning.code} ${warning.uris.join(' ')}`}
                className="policy-warning"
                data-testid="policy-warning"
                data-code={warning.code}
              >
                <span className="policy-warning-label">Warning:</span> {warning.message}
              </p>
            ))}
          </div>
          <fieldset className="field">
            <legend>Grant types (optional)</legend>
            <p className="hint" id={ids.grants}>
              Leave all unchecked for the defaults: the authorization code and refresh tokens (and
              the device grant for native clients; client credentials for a web client without
              redirect URIs).
            </p>
            <div className="checkbox-list">
              {GRANT_TYPES.map((grant) => (
                <label key={grant} className="checkbox">
                  <input
                    type="checkbox"
                    checked={grants.includes(grant)}
                    aria-describedby={ids.grants}
                    onChange={(event) => {
                      const on = event.target.checked;
                      setGrants((current) =>
                        on ? [...current, grant] : current.filter((g) => g !== grant),
                      );
                    }}
                  />
                  <code>{grant}</code>
                </label>
              ))}
            </div>
          </fieldset>
          <div className="field">
            <label className="checkbox" htmlFor={ids.skip}>
              <input
                id={ids.skip}
                type="checkbox"
                checked={skipConsent}
                onChange={(event) => {
                  setSkipConsent(event.target.checked);
                }}
              />
              Skip the consent screen (first-party application)
            </label>
          </div>
          <ErrorAlert error={error} />
          <div className="actions">
            <button type="submit" className="button primary" disabled={!canSubmit}>
              {busy ? 'Creating…' : 'Create client'}
            </button>
            {refusedCount > 0 && (
              <span className="hint">
                Fix or remove the refused redirect URIs to create the client.
              </span>
            )}
          </div>
        </form>
      )}
    </section>
  );
}

function CreatedClientBox({
  created,
  onAnother,
}: {
  readonly created: CreatedClient;
  readonly onAnother: () => void;
}) {
  const { client, clientSecret, warnings } = created;
  return (
    <div className="created" data-testid="created-client">
      <p className="alert alert-success" role="status">
        Client <strong>{client.name}</strong> created: <code>{client.clientId}</code>
      </p>
      {clientSecret !== undefined && <SecretOnce secret={clientSecret} />}
      {warnings.map((warning) => (
        <p key={`${warning.code} ${warning.uris.join(' ')}`} className="lint-note">
          <span className="policy-warning-label">Warning:</span> {warning.message}
        </p>
      ))}
      <div className="actions">
        <Link className="button primary" to={paths.client(client.environment, client.clientId)}>
          Open client {client.name}
        </Link>
        <button type="button" className="button secondary" onClick={onAnother}>
          Create another client
        </button>
      </div>
    </div>
  );
}
