import { useId, useState, type ReactNode } from 'react';
import {
  issueInitialAccessToken,
  updateEnvironment,
  updateLoopbackHosts,
  type EnvironmentSettings,
} from '../../api/admin';
import type { Environment, LoopbackHost, RegistrationPolicy, TokenLifetime } from '../../api/types';
import { keys, useAction } from '../../api/queries';
import { ErrorAlert } from '../../components/Feedback';
import { ActionForm, SelectField, TextField } from '../../components/Form';
import { SecretOnce } from '../../components/SecretOnce';
import { Switch } from '../../components/Switch';
import { DateTime } from '../../components/Values';
import { formatRelative } from '../../format';
import { useNow } from '../../hooks';
import { useSession } from '../../session';

const REGISTRATION_OPTIONS: readonly { value: RegistrationPolicy; label: string }[] = [
  { value: 'open', label: 'Open to anyone' },
  { value: 'token', label: 'Needs an initial access token' },
  { value: 'off', label: 'Off' },
];

const LIFETIME_OPTIONS: readonly { value: TokenLifetime; label: string }[] = [
  { value: '1h', label: '1 hour' },
  { value: '1d', label: '1 day' },
  { value: '7d', label: '7 days' },
];

function registrationLabel(policy: RegistrationPolicy): string {
  return REGISTRATION_OPTIONS.find((option) => option.value === policy)?.label ?? policy;
}

/** Saves one environment setting at a time, with its own error and success message. */
function useSettingSaver(env: string) {
  const action = useAction({
    run: ({ settings }: { settings: EnvironmentSettings; message: string }) =>
      updateEnvironment(env, settings),
    // Turning impersonation off ends the running ones.
    invalidates: () => [keys.environments, keys.impersonations(env)],
  });
  const save = (settings: EnvironmentSettings, message: string, onError?: () => void): void => {
    // Controls stay enabled (and focused) while saving; a change meanwhile is not sent.
    if (action.isPending) return;
    action.mutate({ settings, message }, onError === undefined ? {} : { onError });
  };
  return {
    busy: action.isPending,
    error: action.error,
    saved: action.isSuccess ? action.variables.message : null,
    save,
  };
}

/** A setting's name and what it does, under the ids its control is labelled and described by. */
function SettingText({
  ids,
  name,
  children,
}: {
  readonly ids: { readonly name: string; readonly hint: string };
  readonly name: string;
  readonly children: ReactNode;
}) {
  return (
    <div>
      <p className="setting-name" id={ids.name}>
        {name}
      </p>
      <p className="hint" id={ids.hint}>
        {children}
      </p>
    </div>
  );
}

function SettingStatus({
  error,
  saved,
}: {
  readonly error: unknown;
  readonly saved: string | null;
}) {
  return (
    <>
      <ErrorAlert error={error} />
      {saved !== null && (
        <p className="alert alert-success" role="status">
          {saved}
        </p>
      )}
    </>
  );
}

/**
 * The environment's settings: impersonation, pushed authorization requests, DPoP and the refresh
 * grace window, the loopback hosts redirect URIs may name, dynamic registration and metadata
 * documents.
 */
export function SettingsSection({ environment }: { readonly environment: Environment }) {
  return (
    <section id="settings" className="panel" aria-labelledby="settings-heading">
      <h2 id="settings-heading">Settings</h2>
      <ImpersonationSetting environment={environment} />
      <ParSetting environment={environment} />
      <DpopSetting environment={environment} />
      <RefreshGraceSetting environment={environment} />
      <LoopbackHostsSetting environment={environment} />
      <RegistrationSettings environment={environment} />
    </section>
  );
}

function ParSetting({ environment }: { readonly environment: Environment }) {
  const { can } = useSession();
  const ids = { name: useId(), hint: useId() };
  const { error, saved, save } = useSettingSaver(environment.name);

  return (
    <>
      <div className="setting" data-testid="par-setting">
        <SettingText ids={ids} name="Require pushed authorization requests">
          Every client must send its authorization request to the server first (RFC 9126), so its
          parameters never travel through the browser. Off: each client decides.
        </SettingText>
        {can.manage ? (
          <Switch
            checked={environment.requirePar}
            label="Require pushed authorization requests"
            describedBy={ids.hint}
            onChange={(required) => {
              save(
                { requirePar: required },
                required
                  ? 'Every client must push its authorization requests.'
                  : 'Each client decides whether it pushes its authorization requests.',
              );
            }}
          />
        ) : (
          <span aria-labelledby={ids.name}>{environment.requirePar ? 'On' : 'Off'}</span>
        )}
      </div>
      <SettingStatus error={error} saved={saved} />
    </>
  );
}

function DpopSetting({ environment }: { readonly environment: Environment }) {
  const { can } = useSession();
  const ids = { name: useId(), hint: useId() };
  const { error, saved, save } = useSettingSaver(environment.name);

  return (
    <>
      <div className="setting" data-testid="dpop-setting">
        <SettingText ids={ids} name="Require DPoP">
          Every token request must carry a DPoP proof (RFC 9449): tokens are bound to a key the
          application holds, so a copied token is useless without it. Off: each client decides.
        </SettingText>
        {can.manage ? (
          <Switch
            checked={environment.requireDpop}
            label="Require DPoP"
            describedBy={ids.hint}
            onChange={(required) => {
              save(
                { requireDpop: required },
                required
                  ? 'Every token request must carry a DPoP proof.'
                  : 'Each client decides whether it must send DPoP proofs.',
              );
            }}
          />
        ) : (
          <span aria-labelledby={ids.name}>{environment.requireDpop ? 'On' : 'Off'}</span>
        )}
      </div>
      <SettingStatus error={error} saved={saved} />
    </>
  );
}

/** Seconds in which a just-rotated refresh token, presented again, gets a successor (0 to 60). */
function RefreshGraceSetting({ environment }: { readonly environment: Environment }) {
  const { can } = useSession();
  const ids = { name: useId(), hint: useId() };
  const [seconds, setSeconds] = useState(String(environment.refreshGraceSeconds));
  const { error, saved, save } = useSettingSaver(environment.name);
  const hint =
    'Several windows of one application refreshing at once: within this many seconds, the same client (with the same DPoP key, when bound) presenting a just-rotated refresh token gets a new one instead of having its sign-in revoked. 0 to 60; 0 turns it off.';

  return (
    <>
      <div className="setting" data-testid="refresh-grace-setting">
        <div>
          <p className="setting-name" id={ids.name}>
            Refresh grace window
          </p>
          {!can.manage && (
            <p className="hint" id={ids.hint}>
              {hint}
            </p>
          )}
        </div>
        {can.manage ? (
          <form
            className="form inline-form"
            aria-labelledby={ids.name}
            onSubmit={(event) => {
              event.preventDefault();
              // Out of range or not whole is sent as it is: the server refuses it with the
              // message every entry point gives.
              const value = Number(seconds);
              save(
                { refreshGraceSeconds: value },
                value === 0
                  ? 'No refresh grace: a rotated refresh token presented again revokes its sign-in.'
                  : `Refresh grace window: ${String(value)} seconds.`,
              );
            }}
          >
            <TextField
              label="Seconds"
              type="number"
              min={0}
              max={60}
              step={1}
              inputMode="numeric"
              value={seconds}
              onChange={setSeconds}
              hint={hint}
            />
            <button
              type="submit"
              className="button secondary"
              disabled={
                seconds.trim() === '' || seconds === String(environment.refreshGraceSeconds)
              }
            >
              Save grace window
            </button>
          </form>
        ) : (
          <span aria-labelledby={ids.name}>
            {environment.refreshGraceSeconds === 0
              ? 'Off'
              : `${String(environment.refreshGraceSeconds)} seconds`}
          </span>
        )}
      </div>
      <SettingStatus error={error} saved={saved} />
    </>
  );
}

const LOOPBACK_HOST_CHOICES: readonly LoopbackHost[] = ['127.0.0.1', '[::1]', 'localhost'];

/**
 * Which loopback hosts redirect URIs may name (issue #18). Refusing localhost is what RFC 8252
 * §8.3 recommends; registrations made before stop matching at once, and are listed after saving.
 */
function LoopbackHostsSetting({ environment }: { readonly environment: Environment }) {
  const { can } = useSession();
  const ids = { name: useId(), hint: useId() };
  const [chosen, setChosen] = useState<readonly LoopbackHost[]>(environment.loopbackHosts);
  const action = useAction({
    run: (hosts: readonly LoopbackHost[]) =>
      // All three is the default: stored as such, so that a later default follows.
      updateLoopbackHosts(environment.name, hosts.length === 3 ? null : hosts),
    invalidates: () => [keys.environments],
  });
  const hint =
    'Which loopback hosts native apps may register as redirect URIs. RFC 8252 §8.3 calls localhost NOT RECOMMENDED: the name is looked up and can lead elsewhere than the interface the app listens on, so production environments often allow only 127.0.0.1 and [::1]. Registrations using a refused host stop matching at once.';
  const unchanged =
    chosen.length === environment.loopbackHosts.length &&
    chosen.every((host) => environment.loopbackHosts.includes(host));
  const result = action.isSuccess ? action.data : undefined;

  return (
    <>
      <div className="setting" data-testid="loopback-hosts-setting">
        <SettingText ids={ids} name="Loopback hosts">
          {hint}
        </SettingText>
        {can.manage ? (
          <form
            className="form inline-form"
            aria-labelledby={ids.name}
            aria-describedby={ids.hint}
            onSubmit={(event) => {
              event.preventDefault();
              if (action.isPending) return;
              // An empty choice is sent as it is: the server refuses it with its reason.
              action.mutate(LOOPBACK_HOST_CHOICES.filter((host) => chosen.includes(host)));
            }}
          >
            {LOOPBACK_HOST_CHOICES.map((host) => (
              <label key={host} className="checkbox">
                <input
                  type="checkbox"
                  checked={chosen.includes(host)}
                  onChange={(event) => {
                    const on = event.target.checked;
                    setChosen((current) =>
                      on ? [...current, host] : current.filter((h) => h !== host),
                    );
                  }}
                />{' '}
                {host}
              </label>
            ))}
            <button type="submit" className="button secondary" disabled={unchanged}>
              Save loopback hosts
            </button>
          </form>
        ) : (
          <span aria-labelledby={ids.name}>{environment.loopbackHosts.join(', ')}</span>
        )}
      </div>
      <ErrorAlert error={action.error} />
      {result !== undefined && (
        <div role="status" data-testid="loopback-hosts-result">
          <p className="alert alert-success">
            Loopback hosts: {result.environment.loopbackHosts.join(', ')}.
          </p>
          {result.violations.length > 0 && (
            <div className="alert alert-warning" data-testid="loopback-violations">
              <p>
                {result.violations.length === 1
                  ? '1 registration uses'
                  : `${String(result.violations.length)} registrations use`}{' '}
                a loopback host this environment now refuses; they no longer match:
              </p>
              <ul>
                {result.violations.map((v) => (
                  <li key={`${v.clientId} ${v.kind} ${v.uri}`}>
                    <code>{v.uri}</code> ({v.kind === 'redirect' ? 'redirect' : 'post-logout'}) of{' '}
                    {v.clientName} <code>{v.clientId}</code>
                    {v.suggestion !== undefined && (
                      <>
                        : register <code>{v.suggestion}</code>
                      </>
                    )}
                  </li>
                ))}
              </ul>
              <p className="hint">{result.violations[0]?.message}</p>
            </div>
          )}
        </div>
      )}
    </>
  );
}

function ImpersonationSetting({ environment }: { readonly environment: Environment }) {
  const { can } = useSession();
  const ids = { name: useId(), hint: useId() };
  const { error, saved, save } = useSettingSaver(environment.name);

  return (
    <>
      <div className="setting">
        <SettingText ids={ids} name="Allow impersonation">
          Lets support and admin operators sign in to this environment&apos;s applications as one of
          its users, for a limited time and with a recorded reason.
        </SettingText>
        {can.manage ? (
          <Switch
            checked={environment.impersonationEnabled}
            label="Allow impersonation"
            describedBy={ids.hint}
            onChange={(enabled) => {
              save(
                { impersonationEnabled: enabled },
                enabled ? 'Impersonation is allowed.' : 'Impersonation is off.',
              );
            }}
          />
        ) : (
          <span aria-labelledby={ids.name}>{environment.impersonationEnabled ? 'On' : 'Off'}</span>
        )}
      </div>
      <SettingStatus error={error} saved={saved} />
    </>
  );
}

function RegistrationSettings({ environment }: { readonly environment: Environment }) {
  const { can } = useSession();
  const ids = { heading: useId(), select: useId(), hint: useId(), name: useId() };
  const { busy, error, saved, save } = useSettingSaver(environment.name);
  // The value just chosen, shown until the reloaded environment no longer has the old one.
  const [pending, setPending] = useState<{
    readonly value: RegistrationPolicy;
    readonly from: RegistrationPolicy;
  } | null>(null);
  const registration =
    pending !== null && pending.from === environment.registration
      ? pending.value
      : environment.registration;

  const change = (value: RegistrationPolicy): void => {
    if (busy) return;
    setPending({ value, from: environment.registration });
    save(
      { registration: value },
      `Dynamic registration: ${registrationLabel(value).toLowerCase()}.`,
      () => {
        setPending(null);
      },
    );
  };

  return (
    <section className="subpanel" aria-labelledby={ids.heading} data-testid="registration-settings">
      <h3 id={ids.heading}>Dynamic client registration</h3>
      <div className="setting">
        <div>
          {can.manage ? (
            <label className="setting-name" htmlFor={ids.select}>
              Dynamic registration
            </label>
          ) : (
            <p className="setting-name" id={ids.name}>
              Dynamic registration
            </p>
          )}
          <p className="hint" id={ids.hint}>
            Lets applications register themselves as clients (RFC 7591), such as MCP clients and
            developer tools. Their names are their own claims: the console marks them
            &ldquo;dynamic&rdquo;.
          </p>
        </div>
        {can.manage ? (
          <select
            id={ids.select}
            value={registration}
            aria-describedby={ids.hint}
            onChange={(event) => {
              change(event.target.value as RegistrationPolicy);
            }}
          >
            {REGISTRATION_OPTIONS.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        ) : (
          <span className="nowrap" aria-labelledby={ids.name} data-testid="registration-value">
            {registrationLabel(registration)}
          </span>
        )}
      </div>
      <SettingStatus error={error} saved={saved} />
      {can.manage && registration === 'token' && <InitialAccessTokenForm env={environment.name} />}
      <DocumentsSetting environment={environment} />
      {environment.tier === 'development' && <LoopbackSetting environment={environment} />}
    </section>
  );
}

function InitialAccessTokenForm({ env }: { readonly env: string }) {
  const hintId = useId();
  const now = useNow();
  const [lifetime, setLifetime] = useState<TokenLifetime>('1d');
  const issue = useAction({ run: () => issueInitialAccessToken(env, lifetime) });
  const issued = issue.data;

  return (
    <div className="setting-detail" data-testid="initial-access-tokens">
      <p className="hint" id={hintId}>
        An application sends an initial access token as a bearer token with its registration
        request. A token works for any number of registrations until it expires.
      </p>
      <ActionForm
        className="form inline-form"
        action={issue}
        submitLabel="Issue initial access token"
        busyLabel="Issuing…"
        buttonClassName="button secondary"
        data-testid="initial-access-token-form"
        aria-describedby={hintId}
      >
        <SelectField
          label="Token lifetime"
          value={lifetime}
          options={LIFETIME_OPTIONS}
          onChange={setLifetime}
        />
      </ActionForm>
      {issued !== undefined && (
        <div data-testid="issued-initial-access-token">
          <SecretOnce
            secret={issued.initialAccessToken}
            title="Initial access token"
            valueTestId="initial-access-token"
          />
          <p>
            Expires <DateTime ms={issued.expiresAt} testId="initial-access-token-expiry" /> (
            {formatRelative(issued.expiresAt, now)}).
          </p>
        </div>
      )}
    </div>
  );
}

function DocumentsSetting({ environment }: { readonly environment: Environment }) {
  const { can } = useSession();
  const ids = { name: useId(), hint: useId() };
  const { error, saved, save } = useSettingSaver(environment.name);

  return (
    <div className="setting-detail" data-testid="documents-setting">
      <div className="setting">
        <SettingText ids={ids} name="Allow metadata-document clients">
          Lets an application use an https URL as its client ID and describe itself in a Client ID
          Metadata Document, without being registered. Independent of dynamic registration; on by
          default in development only.
        </SettingText>
        {can.manage ? (
          <Switch
            checked={environment.metadataDocuments}
            label="Allow metadata-document clients"
            describedBy={ids.hint}
            onChange={(allowed) => {
              save(
                { metadataDocuments: allowed },
                allowed
                  ? 'Metadata-document clients are allowed.'
                  : 'Metadata-document clients are refused.',
              );
            }}
          />
        ) : (
          <span aria-labelledby={ids.name}>{environment.metadataDocuments ? 'On' : 'Off'}</span>
        )}
      </div>
      <SettingStatus error={error} saved={saved} />
    </div>
  );
}

function LoopbackSetting({ environment }: { readonly environment: Environment }) {
  const { can } = useSession();
  const ids = { name: useId(), hint: useId() };
  const { error, saved, save } = useSettingSaver(environment.name);

  return (
    <div className="setting-detail" data-testid="loopback-setting">
      <div className="setting">
        <SettingText ids={ids} name="Allow loopback metadata documents">
          Off by default, for local tests only: lets Client ID Metadata Documents be fetched from
          this machine. Elsewhere Gatehouse refuses loopback addresses, so that a client ID cannot
          make it fetch from its own network.
        </SettingText>
        {can.manage ? (
          <Switch
            checked={environment.allowLoopbackDocuments}
            label="Allow loopback metadata documents"
            describedBy={ids.hint}
            onChange={(allowed) => {
              save(
                { allowLoopbackDocuments: allowed },
                allowed
                  ? 'Metadata documents may be fetched from this machine.'
                  : 'Metadata documents are no longer fetched from this machine.',
              );
            }}
          />
        ) : (
          <span aria-labelledby={ids.name}>
            {environment.allowLoopbackDocuments ? 'On' : 'Off'}
          </span>
        )}
      </div>
      <SettingStatus error={error} saved={saved} />
    </div>
  );
}
