import { useId, useState } from 'react';
import { updateClient, type ClientSettings } from '../../api/admin';
import { clientKeys, useAction } from '../../api/queries';
import type { Client } from '../../api/types';
import {
  ActionForm,
  CheckboxField,
  SelectField,
  TextField,
  URI_INPUT,
} from '../../components/Form';
import { SecretOnce } from '../../components/SecretOnce';
import { lines } from '../../policy';

type AuthChoice = 'default' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
type Alg = 'RS256' | 'ES256';

const AUTH_OPTIONS: readonly { value: AuthChoice; label: string }[] = [
  { value: 'default', label: 'Client secret (Basic or form)' },
  { value: 'client_secret_basic', label: 'Client secret, HTTP Basic only' },
  { value: 'client_secret_post', label: 'Client secret, in the form only' },
  { value: 'private_key_jwt', label: 'Signed assertion with its own keys (private_key_jwt)' },
];
const ALG_OPTIONS: readonly { value: Alg; label: string }[] = [
  { value: 'RS256', label: 'RS256 (the OpenID Connect default)' },
  { value: 'ES256', label: 'ES256' },
];

/** The JWK Set as the form shows it: formatted JSON, or nothing. */
const jwksText = (client: Client): string =>
  client.jwks === null ? '' : JSON.stringify(client.jwks, null, 2);

/**
 * Admins: how the client signs in and out and authenticates (the issue #16 settings, what
 * `clients update --auth-method/--jwks/--post-logout-redirect-uri/...` changes). The server checks
 * every value; its message is shown as it is.
 */
export function ProtocolSection({ client }: { readonly client: Client }) {
  const ids = { postLogout: useId(), jwks: useId() };
  const confidential = client.type === 'web';
  const [alg, setAlg] = useState<Alg>(client.idTokenSignedResponseAlg ?? 'RS256');
  const [postLogout, setPostLogout] = useState(client.postLogoutRedirectUris.join('\n'));
  const [backchannel, setBackchannel] = useState(client.backchannelLogoutUri ?? '');
  const [auth, setAuth] = useState<AuthChoice>(
    client.tokenEndpointAuthMethod === null || client.tokenEndpointAuthMethod === 'none'
      ? 'default'
      : client.tokenEndpointAuthMethod,
  );
  const [jwks, setJwks] = useState(jwksText(client));
  const [jwksUri, setJwksUri] = useState(client.jwksUri ?? '');
  const [requirePar, setRequirePar] = useState(client.requirePar);
  const [pkceExempt, setPkceExempt] = useState(client.pkceExemptWithNonce);
  const [requireDpop, setRequireDpop] = useState(client.requireDpop);

  let parsedJwks: NonNullable<ClientSettings['jwks']> | null | 'invalid' = null;
  if (jwks.trim() !== '') {
    try {
      parsedJwks = JSON.parse(jwks) as NonNullable<ClientSettings['jwks']>;
    } catch {
      parsedJwks = 'invalid';
    }
  }

  const body: ClientSettings = {
    idTokenSignedResponseAlg: alg,
    postLogoutRedirectUris: lines(postLogout),
    backchannelLogoutUri: backchannel.trim() === '' ? null : backchannel.trim(),
    requirePar,
    requireDpop,
    ...(confidential
      ? {
          tokenEndpointAuthMethod: auth === 'default' ? null : auth,
          jwks: parsedJwks === 'invalid' ? null : parsedJwks,
          jwksUri: jwksUri.trim() === '' ? null : jwksUri.trim(),
          pkceExemptWithNonce: pkceExempt,
        }
      : {}),
  };
  const save = useAction({
    run: () => updateClient(client.environment, client.clientId, body),
    invalidates: () => clientKeys(client),
  });
  const edit =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      save.reset();
    };

  const changed =
    alg !== (client.idTokenSignedResponseAlg ?? 'RS256') ||
    postLogout !== client.postLogoutRedirectUris.join('\n') ||
    backchannel !== (client.backchannelLogoutUri ?? '') ||
    requirePar !== client.requirePar ||
    requireDpop !== client.requireDpop ||
    (confidential &&
      (auth !==
        (client.tokenEndpointAuthMethod === null || client.tokenEndpointAuthMethod === 'none'
          ? 'default'
          : client.tokenEndpointAuthMethod) ||
        jwks !== jwksText(client) ||
        jwksUri !== (client.jwksUri ?? '') ||
        pkceExempt !== client.pkceExemptWithNonce));

  return (
    <section className="panel" aria-labelledby="protocol-heading" data-testid="protocol-settings">
      <h2 id="protocol-heading">Sign-in, logout and keys</h2>
      <ActionForm
        className=""
        action={save}
        submitLabel="Save sign-in settings"
        busyLabel="Saving…"
        canSubmit={changed && parsedJwks !== 'invalid'}
        submitTestId="save-protocol-settings"
      >
        <SelectField
          label="ID token signing algorithm"
          value={alg}
          options={ALG_OPTIONS}
          onChange={edit(setAlg)}
        />
        <div className="field">
          <label htmlFor={ids.postLogout}>Post-logout redirect URIs</label>
          <textarea
            id={ids.postLogout}
            className="mono"
            rows={2}
            spellCheck={false}
            autoCapitalize="off"
            autoCorrect="off"
            value={postLogout}
            aria-describedby={`${ids.postLogout}-hint`}
            onChange={(event) => {
              edit(setPostLogout)(event.target.value);
            }}
          />
          <p id={`${ids.postLogout}-hint`} className="hint">
            One per line: where the application may send users after signing them out (RP-Initiated
            Logout). Checked by the same policy as redirect URIs.
          </p>
        </div>
        <TextField
          label="Back-channel logout URI"
          {...URI_INPUT}
          value={backchannel}
          onChange={edit(setBackchannel)}
          hint="Where Gatehouse POSTs a logout token when a user's session ends (https)."
        />
        {confidential && (
          <>
            <SelectField
              label="Client authentication"
              value={auth}
              options={AUTH_OPTIONS}
              onChange={edit(setAuth)}
            />
            <div className="field">
              <label htmlFor={ids.jwks}>Public keys (JWK Set)</label>
              <textarea
                id={ids.jwks}
                className="mono"
                rows={4}
                spellCheck={false}
                value={jwks}
                aria-invalid={parsedJwks === 'invalid'}
                aria-describedby={`${ids.jwks}-hint`}
                onChange={(event) => {
                  edit(setJwks)(event.target.value);
                }}
              />
              <p id={`${ids.jwks}-hint`} className="hint">
                {parsedJwks === 'invalid'
                  ? 'This is not JSON.'
                  : 'For private_key_jwt: {"keys": [...]} with public keys only, or a JWKS URL below (not both). A client using keys has no secret.'}
              </p>
            </div>
            <TextField
              label="JWKS URL"
              {...URI_INPUT}
              value={jwksUri}
              onChange={edit(setJwksUri)}
            />
          </>
        )}
        <CheckboxField
          label="Require pushed authorization requests (PAR)"
          checked={requirePar}
          onChange={edit(setRequirePar)}
        />
        <CheckboxField
          label="Require DPoP: bind its tokens to a key the application holds (RFC 9449)"
          checked={requireDpop}
          onChange={edit(setRequireDpop)}
        />
        {confidential && (
          <CheckboxField
            label="Allow sign-in without PKCE when the application sends a nonce (legacy exception, weaker)"
            checked={pkceExempt}
            onChange={edit(setPkceExempt)}
          />
        )}
        {save.isSuccess && (
          <p className="alert alert-success" role="status">
            Saved.
          </p>
        )}
      </ActionForm>
      {save.data?.clientSecret !== undefined && (
        <SecretOnce secret={save.data.clientSecret} title="New client secret" />
      )}
    </section>
  );
}
