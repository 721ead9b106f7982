import { useId, useState, type SubmitEvent } from 'react';
import { updateClient } from '../../api/admin';
import { GRANT_TYPES, type Client } from '../../api/types';
import { ErrorAlert } from '../../components/Feedback';

/** Admins: the client's name, grant types and consent setting (what `clients update` changes). */
export function SettingsSection({
  client,
  onChanged,
}: {
  readonly client: Client;
  readonly onChanged: () => void;
}) {
  const ids = { name: useId(), skip: useId(), grants: useId() };
  const [name, setName] = useState(client.name);
  const [grants, setGrants] = useState<readonly string[]>(client.grantTypes);
  const [skipConsent, setSkipConsent] = useState(client.skipConsent);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const changed =
    name.trim() !== client.name ||
    skipConsent !== client.skipConsent ||
    grants.length !== client.grantTypes.length ||
    grants.some((g) => !client.grantTypes.includes(g));

  const save = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      await updateClient(client.environment, client.clientId, {
        name: name.trim(),
        grantTypes: grants,
        skipConsent,
      });
      setSaved(true);
      onChanged();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="settings-heading">
      <h2 id="settings-heading">Settings</h2>
      <form
        onSubmit={(event: SubmitEvent<HTMLFormElement>) => {
          event.preventDefault();
          void save();
        }}
      >
        <div className="field">
          <label htmlFor={ids.name}>Name</label>
          <input
            id={ids.name}
            value={name}
            maxLength={100}
            required
            onChange={(event) => {
              setName(event.target.value);
              setSaved(false);
            }}
          />
        </div>
        <fieldset className="field">
          <legend>Grant types</legend>
          <p className="hint" id={ids.grants}>
            The server checks the combination: native clients cannot use client credentials, web
            clients cannot use the device grant.
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
                    setSaved(false);
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
                setSaved(false);
              }}
            />
            Skip the consent screen (first-party application)
          </label>
        </div>
        <ErrorAlert error={error} />
        {saved && (
          <p className="alert alert-success" role="status">
            Saved.
          </p>
        )}
        <div className="actions">
          <button
            type="submit"
            className="button primary"
            disabled={busy || !changed || name.trim() === ''}
          >
            {busy ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      </form>
    </section>
  );
}
