import { useState } from 'react';
import { updateClient } from '../../api/admin';
import { clientKeys, useAction } from '../../api/queries';
import type { Client, GrantType } from '../../api/types';
import { ActionForm, CheckboxField, TextField } from '../../components/Form';
import { GrantTypesField } from '../../components/GrantTypesField';

/** Admins: the client's name, grant types and consent setting (what `clients update` changes). */
export function SettingsSection({ client }: { readonly client: Client }) {
  const [name, setName] = useState(client.name);
  const [grants, setGrants] = useState<readonly GrantType[]>(client.grantTypes);
  const [skipConsent, setSkipConsent] = useState(client.skipConsent);
  const save = useAction({
    run: () =>
      updateClient(client.environment, client.clientId, {
        name: name.trim(),
        grantTypes: grants,
        skipConsent,
      }),
    invalidates: () => clientKeys(client),
  });
  // A change after saving hides "Saved."
  const edit =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      save.reset();
    };

  const changed =
    name.trim() !== client.name ||
    skipConsent !== client.skipConsent ||
    grants.length !== client.grantTypes.length ||
    grants.some((g) => !client.grantTypes.includes(g));

  return (
    <section className="panel" aria-labelledby="settings-heading">
      <h2 id="settings-heading">Settings</h2>
      <ActionForm
        className=""
        action={save}
        submitLabel="Save settings"
        busyLabel="Saving…"
        canSubmit={changed && name.trim() !== ''}
      >
        <TextField label="Name" maxLength={100} required value={name} onChange={edit(setName)} />
        <GrantTypesField
          legend="Grant types"
          hint="The server checks the combination: native clients cannot use client credentials, web clients cannot use the device grant."
          value={grants}
          onChange={edit(setGrants)}
        />
        <CheckboxField
          label="Skip the consent screen (first-party application)"
          checked={skipConsent}
          onChange={edit(setSkipConsent)}
        />
        {save.isSuccess && (
          <p className="alert alert-success" role="status">
            Saved.
          </p>
        )}
      </ActionForm>
    </section>
  );
}
