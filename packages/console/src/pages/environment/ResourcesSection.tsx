import { useId, useState, type SubmitEvent } from 'react';
import { registerResource, removeResource } from '../../api/admin';
import type { ProtectedResource } from '../../api/types';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorAlert, Loading } from '../../components/Feedback';
import type { Resource } from '../../hooks';
import { useSession } from '../../session';

/** The space-separated scopes typed in the form, without repeats. */
function parseScopes(text: string): readonly string[] {
  return [...new Set(text.split(/\s+/).filter((scope) => scope !== ''))];
}

/** Protected resources (RFC 8707) registered in the environment, with their scopes. */
export function ResourcesSection({
  env,
  resources,
  onChanged,
}: {
  readonly env: string;
  readonly resources: Resource<readonly ProtectedResource[]>;
  readonly onChanged: () => void;
}) {
  const { can } = useSession();
  const hintId = useId();
  const [error, setError] = useState<unknown>(undefined);

  const remove = async (uri: string): Promise<void> => {
    setError(undefined);
    try {
      await removeResource(env, uri);
      onChanged();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <section
      id="resources"
      className="panel"
      aria-labelledby="resources-heading"
      aria-describedby={hintId}
      data-testid="resources"
    >
      <h2 id="resources-heading">Resources</h2>
      <p className="hint" id={hintId}>
        Once any resource is registered, only registered resources may be asked for, each with its
        own scopes.
      </p>
      <ErrorAlert error={resources.error ?? error} />
      {resources.data === undefined ? (
        resources.status === 'loading' && <Loading what="resources" />
      ) : resources.data.length === 0 ? (
        <p className="muted">No resources registered.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">URI</th>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                {can.manage && (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {resources.data.map((resource) => (
                <tr key={resource.uri} data-testid="resource-row">
                  <td className="break">
                    <code>{resource.uri}</code>
                  </td>
                  <td>{resource.name}</td>
                  <td>
                    {resource.scopes.length === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      resource.scopes.map((scope) => (
                        <code key={scope} className="chip">
                          {scope}
                        </code>
                      ))
                    )}
                  </td>
                  {can.manage && (
                    <td className="row-actions">
                      <ConfirmButton
                        className="button danger small"
                        aria-label={`Remove ${resource.uri}`}
                        title="Remove this resource?"
                        message={
                          <p>
                            Clients can no longer ask for <code>{resource.uri}</code> or its scopes.
                            Once no resource is left, any resource may be asked for again.
                          </p>
                        }
                        confirmLabel="Remove resource"
                        onConfirm={() => {
                          void remove(resource.uri);
                        }}
                      >
                        Remove
                      </ConfirmButton>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {can.manage && <NewResourceForm env={env} onRegistered={onChanged} />}
    </section>
  );
}

function NewResourceForm({
  env,
  onRegistered,
}: {
  readonly env: string;
  readonly onRegistered: () => void;
}) {
  const ids = { heading: useId(), uri: useId(), name: useId(), scopes: useId() };
  const [uri, setUri] = useState('');
  const [name, setName] = useState('');
  const [scopesText, setScopesText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [registered, setRegistered] = useState<string | null>(null);

  const canSubmit = !busy && uri.trim() !== '' && name.trim() !== '';

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    if (!canSubmit) return;
    setBusy(true);
    setError(undefined);
    setRegistered(null);
    try {
      const resource = await registerResource(env, {
        uri: uri.trim(),
        name: name.trim(),
        scopes: parseScopes(scopesText),
      });
      setRegistered(resource.uri);
      setUri('');
      setName('');
      setScopesText('');
      onRegistered();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="subpanel" aria-labelledby={ids.heading}>
      <h3 id={ids.heading}>Register a resource</h3>
      <form
        className="form"
        data-testid="new-resource-form"
        onSubmit={(event) => {
          void submit(event);
        }}
      >
        <div className="form-row align-top">
          <div className="field grow">
            <label htmlFor={ids.uri}>Resource URI</label>
            <input
              id={ids.uri}
              className="mono"
              type="text"
              inputMode="url"
              required
              maxLength={2048}
              autoComplete="off"
              autoCapitalize="off"
              autoCorrect="off"
              spellCheck={false}
              placeholder="https://api.example.com/"
              aria-describedby={`${ids.uri}-hint`}
              value={uri}
              onChange={(event) => {
                setUri(event.target.value);
                setRegistered(null);
              }}
            />
            <p className="hint" id={`${ids.uri}-hint`}>
              An absolute URI without a fragment, as clients send it in the <code>resource</code>{' '}
              parameter.
            </p>
          </div>
          <div className="field">
            <label htmlFor={ids.name}>Name</label>
            <input
              id={ids.name}
              required
              maxLength={100}
              autoComplete="off"
              value={name}
              onChange={(event) => {
                setName(event.target.value);
                setRegistered(null);
              }}
            />
          </div>
        </div>
        <div className="field">
          <label htmlFor={ids.scopes}>Scopes (space-separated)</label>
          <input
            id={ids.scopes}
            className="mono"
            type="text"
            autoComplete="off"
            autoCapitalize="off"
            autoCorrect="off"
            spellCheck={false}
            placeholder="read write"
            aria-describedby={`${ids.scopes}-hint`}
            value={scopesText}
            onChange={(event) => {
              setScopesText(event.target.value);
              setRegistered(null);
            }}
          />
          <p className="hint" id={`${ids.scopes}-hint`}>
            The scopes this resource defines. The OpenID Connect scopes (<code>openid</code>,{' '}
            <code>profile</code>, <code>email</code>, <code>offline_access</code>) are
            Gatehouse&apos;s own and cannot be listed here.
          </p>
        </div>
        <ErrorAlert error={error} />
        <div className="actions">
          <button type="submit" className="button primary" disabled={!canSubmit}>
            {busy ? 'Registering…' : 'Register resource'}
          </button>
        </div>
      </form>
      {registered !== null && (
        <p className="alert alert-success" role="status">
          Resource <code>{registered}</code> registered.
        </p>
      )}
    </section>
  );
}
