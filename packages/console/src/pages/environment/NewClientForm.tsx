import { useId, useState } from 'react';
import { createClient } from '../../api/admin';
import { keys, useAction } from '../../api/queries';
import type { ClientType, CreatedClient, Environment, GrantType } from '../../api/types';
import { ActionForm, CheckboxField, SelectField, TextField } from '../../components/Form';
import { GrantTypesField } from '../../components/GrantTypesField';
import { LintNotes, PolicyWarnings, Suggestion } from '../../components/PolicyFeedback';
import { SecretOnce } from '../../components/SecretOnce';
import { acceptedMessage, lines, lint, policyContext, validate } from '../../policy';
import { Link } from 'react-router';
import { paths } from '../../paths';

const CLIENT_TYPES: readonly { value: ClientType; label: string }[] = [
  { value: 'web', label: 'Web (confidential, server-side)' },
  { value: 'native', label: 'Native (public: CLI, desktop, mobile)' },
  { value: 'spa', label: 'Single-page app (public: runs in the browser)' },
];

export function NewClientForm({ environment }: { readonly environment: Environment }) {
  const ids = { uris: useId() };
  const [name, setName] = useState('');
  const [type, setType] = useState<ClientType>('web');
  const [urisText, setUrisText] = useState('');
  const [grants, setGrants] = useState<readonly GrantType[]>([]);
  const [skipConsent, setSkipConsent] = useState(false);

  const context = policyContext(environment, type);
  const uris = lines(urisText);
  const checked = uris.map((uri, index) => ({ uri, index, result: validate(uri, context) }));
  const refusedCount = checked.filter((line) => !line.result.ok).length;
  const warnings = lint(uris, context);

  const create = useAction({
    run: () =>
      createClient(environment.name, {
        name: name.trim(),
        type,
        redirectUris: uris,
        ...(grants.length === 0 ? {} : { grantTypes: grants }),
        ...(skipConsent ? { skipConsent } : {}),
      }),
    invalidates: () => [keys.clients(environment.name), keys.environments],
    onDone: () => {
      setName('');
      setUrisText('');
      setGrants([]);
      setSkipConsent(false);
    },
  });

  const replaceLine = (index: number, replacement: string): void => {
    setUrisText(uris.map((uri, i) => (i === index ? replacement : uri)).join('\n'));
  };

  return (
    <section id="new-client" className="panel" aria-labelledby="new-client-heading">
      <h2 id="new-client-heading">New client</h2>
      {create.isSuccess ? (
        <CreatedClientBox
          created={create.data}
          onAnother={() => {
            create.reset();
          }}
        />
      ) : (
        <ActionForm
          action={create}
          submitLabel="Create client"
          busyLabel="Creating…"
          canSubmit={name.trim() !== '' && refusedCount === 0}
          data-testid="new-client-form"
          extraActions={
            refusedCount > 0 && (
              <span className="hint">
                Fix or remove the refused redirect URIs to create the client.
              </span>
            )
          }
        >
          <div className="form-row">
            <TextField
              label="Client name"
              required
              maxLength={100}
              value={name}
              onChange={setName}
            />
            <SelectField
              label="Client type"
              value={type}
              options={CLIENT_TYPES}
              onChange={setType}
            />
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
                    <Suggestion
                      suggestion={result.suggestion}
                      onUse={(suggestion) => {
                        replaceLine(index, suggestion);
                      }}
                    />
                  )}
                </li>
              ))}
            </ul>
            <PolicyWarnings warnings={warnings} />
          </div>
          <GrantTypesField
            legend="Grant types (optional)"
            hint="Leave all unchecked for the defaults: the authorization code and refresh tokens (and the device grant for native clients; client credentials for a web client without redirect URIs)."
            value={grants}
            onChange={setGrants}
          />
          <CheckboxField
            label="Skip the consent screen (first-party application)"
            checked={skipConsent}
            onChange={setSkipConsent}
          />
        </ActionForm>
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
      <LintNotes warnings={warnings} />
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
