import { useId, useState } from 'react';
import {
  registerResource,
  removeResource,
  setResourceAccessTokenAlg,
  setResourceClient,
} from '../../api/admin';
import { keys, useAction, useClients, useResources } from '../../api/queries';
import type { Client, ProtectedResource } from '../../api/types';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ListState, Table } from '../../components/Feedback';
import { ActionForm, SelectField, TextField, URI_INPUT, type Option } from '../../components/Form';
import { useSession } from '../../session';

/** The space-separated scopes typed in the form, without repeats. */
function parseScopes(text: string): readonly string[] {
  return [...new Set(text.split(/\s+/).filter((scope) => scope !== ''))];
}

/**
 * The clients a resource's server may authenticate as: confidential ones (web, with a secret).
 * The server refuses any other; the list only spares the operator the refusal.
 */
function confidentialClients(clients: readonly Client[] | undefined): readonly Client[] {
  return (clients ?? []).filter((client) => client.type === 'web' && client.hasSecret);
}

/** "No client" and each confidential client, by name; a linked client not among them too. */
function clientOptions(clients: readonly Client[], linked: string | null): Option<string>[] {
  const options: Option<string>[] = [
    { value: '', label: 'No client' },
    ...clients.map((client) => ({ value: client.clientId, label: client.name })),
  ];
  if (linked !== null && !clients.some((client) => client.clientId === linked))
    options.push({ value: linked, label: linked });
  return options;
}

/** Protected resources (RFC 8707) registered in the environment, with their scopes. */
export function ResourcesSection({ env }: { readonly env: string }) {
  const { can } = useSession();
  const hintId = useId();
  const resources = useResources(env);
  const clients = useClients(env);
  const confidential = confidentialClients(clients.data);
  const remove = useAction({
    run: (uri: string) => removeResource(env, uri),
    invalidates: () => [keys.resources(env)],
  });
  const link = useAction({
    run: ({ uri, clientId }: { uri: string; clientId: string | null }) =>
      setResourceClient(env, uri, clientId),
    invalidates: () => [keys.resources(env)],
  });
  const setAlg = useAction({
    run: ({ uri, alg }: { uri: string; alg: 'ES256' | 'RS256' | null }) =>
      setResourceAccessTokenAlg(env, uri, alg),
    invalidates: () => [keys.resources(env)],
  });
  const clientName = (clientId: string) =>
    clients.data?.find((client) => client.clientId === clientId)?.name ?? clientId;

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
        own scopes. A resource&apos;s client is the confidential client its server authenticates as:
        it may read the revocation feed and introspect the resource&apos;s tokens.
      </p>
      <ListState
        query={resources}
        what="resources"
        error={remove.error ?? link.error ?? setAlg.error}
        empty={<p className="muted">No resources registered.</p>}
      >
        {(list) => (
          <Table
            columns={['URI', 'Name', 'Scopes', 'Client', 'Access tokens']}
            actions={can.manage}
          >
            {list.map((resource) => (
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
                <td>
                  {can.manage ? (
                    <ResourceClientSelect
                      resource={resource}
                      options={clientOptions(confidential, resource.clientId)}
                      onChange={(clientId) => {
                        link.mutate({ uri: resource.uri, clientId });
                      }}
                    />
                  ) : resource.clientId === null ? (
                    <span className="muted">none</span>
                  ) : (
                    clientName(resource.clientId)
                  )}
                </td>
                <td>
                  {can.manage ? (
                    <select
                      aria-label={`Access token algorithm of ${resource.uri}`}
                      value={resource.accessTokenAlg ?? 'ES256'}
                      onChange={(event) => {
                        const alg = event.target.value === 'RS256' ? 'RS256' : null;
                        setAlg.mutate({ uri: resource.uri, alg });
                      }}
                    >
                      <option value="ES256">ES256 (default)</option>
                      <option value="RS256">RS256</option>
                    </select>
                  ) : (
                    (resource.accessTokenAlg ?? 'ES256')
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
                        remove.mutate(resource.uri);
                      }}
                    >
                      Remove
                    </ConfirmButton>
                  </td>
                )}
              </tr>
            ))}
          </Table>
        )}
      </ListState>
      {can.manage && <NewResourceForm env={env} clients={confidential} />}
    </section>
  );
}

/** The row's client, changed as soon as another is chosen. */
function ResourceClientSelect({
  resource,
  options,
  onChange,
}: {
  readonly resource: ProtectedResource;
  readonly options: readonly Option<string>[];
  readonly onChange: (clientId: string | null) => void;
}) {
  return (
    <select
      aria-label={`Client of ${resource.uri}`}
      value={resource.clientId ?? ''}
      onChange={(event) => {
        onChange(event.target.value === '' ? null : event.target.value);
      }}
    >
      {options.map((option) => (
        <option key={option.value} value={option.value}>
          {option.label}
        </option>
      ))}
    </select>
  );
}

function NewResourceForm({
  env,
  clients,
}: {
  readonly env: string;
  readonly clients: readonly Client[];
}) {
  const [uri, setUri] = useState('');
  const [name, setName] = useState('');
  const [scopesText, setScopesText] = useState('');
  const [clientId, setClientId] = useState('');
  const register = useAction({
    run: () =>
      registerResource(env, {
        uri: uri.trim(),
        name: name.trim(),
        scopes: parseScopes(scopesText),
        clientId: clientId === '' ? null : clientId,
      }),
    invalidates: () => [keys.resources(env)],
    onDone: () => {
      setUri('');
      setName('');
      setScopesText('');
      setClientId('');
    },
  });
  // Typing again hides the last "registered" message.
  const edit = (set: (value: string) => void) => (value: string) => {
    set(value);
    register.reset();
  };

  return (
    <section className="subpanel" aria-labelledby="new-resource-heading">
      <h3 id="new-resource-heading">Register a resource</h3>
      <ActionForm
        action={register}
        submitLabel="Register resource"
        busyLabel="Registering…"
        canSubmit={uri.trim() !== '' && name.trim() !== ''}
        data-testid="new-resource-form"
      >
        <div className="form-row align-top">
          <TextField
            fieldClassName="field grow"
            label="Resource URI"
            {...URI_INPUT}
            required
            maxLength={2048}
            placeholder="https://api.example.com/"
            value={uri}
            onChange={edit(setUri)}
            hint={
              <>
                An absolute URI without a fragment, as clients send it in the <code>resource</code>{' '}
                parameter.
              </>
            }
          />
          <TextField label="Name" required maxLength={100} value={name} onChange={edit(setName)} />
        </div>
        <TextField
          label="Scopes (space-separated)"
          {...URI_INPUT}
          inputMode="text"
          placeholder="read write"
          value={scopesText}
          onChange={edit(setScopesText)}
          hint={
            <>
              The scopes this resource defines. The OpenID Connect scopes (<code>openid</code>,{' '}
              <code>profile</code>, <code>email</code>, <code>offline_access</code>) are
              Gatehouse&apos;s own and cannot be listed here.
            </>
          }
        />
        <SelectField
          label="Client (optional)"
          value={clientId}
          options={clientOptions(clients, null)}
          onChange={edit(setClientId)}
        />
      </ActionForm>
      {register.isSuccess && (
        <p className="alert alert-success" role="status">
          Resource <code>{register.data.uri}</code> registered.
        </p>
      )}
    </section>
  );
}
