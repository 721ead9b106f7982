import { useId, useState } from 'react';
import { endImpersonation, startImpersonation } from '../api/admin';
import { keys, useAction } from '../api/queries';
import type { Client, Impersonation, User } from '../api/types';
import { formatRelative } from '../format';
import { useNow } from '../hooks';
import { mayEndImpersonation, useSession } from '../session';
import { ErrorAlert } from './Feedback';
import { ActionForm, SelectField, TextField } from './Form';
import { DateTime } from './Values';

const DEFAULT_MINUTES = 15;

/**
 * Start an impersonation: for a fixed client choose the user, or for a fixed user choose the
 * client. A reason is required; the duration is 1 to 60 minutes.
 */
export function ImpersonationForm({
  environment,
  client,
  user,
  clients,
  users,
  onStarted,
  onCancel,
}: {
  readonly environment: string;
  readonly onStarted: (impersonation: Impersonation) => void;
  readonly onCancel?: () => void;
} & (
  | {
      readonly client: Client;
      readonly users: readonly User[];
      readonly user?: never;
      readonly clients?: never;
    }
  | {
      readonly user: User;
      readonly clients: readonly Client[];
      readonly client?: never;
      readonly users?: never;
    }
)) {
  const choices =
    users !== undefined
      ? users.filter((u) => !u.disabled).map((u) => ({ value: u.id, label: u.email }))
      : clients.map((c) => ({ value: c.clientId, label: `${c.name} (${c.clientId})` }));
  const [choice, setChoice] = useState(choices[0]?.value ?? '');
  const [reason, setReason] = useState('');
  const [minutes, setMinutes] = useState(String(DEFAULT_MINUTES));
  const start = useAction({
    run: () =>
      startImpersonation(environment, {
        userId: user !== undefined ? user.id : choice,
        clientId: client !== undefined ? client.clientId : choice,
        reason: reason.trim(),
        minutes: Number(minutes),
      }),
    invalidates: () => [keys.impersonations(environment)],
    onDone: onStarted,
  });

  const minutesNumber = Number(minutes);
  const minutesValid = Number.isInteger(minutesNumber) && minutesNumber >= 1 && minutesNumber <= 60;

  return (
    <ActionForm
      className="form impersonation-form"
      data-testid="impersonation-form"
      action={start}
      submitLabel="Start impersonation"
      busyLabel="Starting…"
      canSubmit={choice !== '' && reason.trim() !== '' && minutesValid}
      extraActions={
        onCancel !== undefined && (
          <button type="button" className="button secondary" onClick={onCancel}>
            Cancel
          </button>
        )
      }
    >
      {choices.length === 0 ? (
        <p className="hint">
          {users !== undefined
            ? 'This environment has no enabled users to impersonate.'
            : 'This environment has no clients.'}
        </p>
      ) : (
        <SelectField
          label={users !== undefined ? 'User' : 'Client'}
          value={choice}
          options={choices}
          onChange={setChoice}
        />
      )}
      <ReasonField value={reason} onChange={setReason} />
      <TextField
        fieldClassName="field field-narrow"
        label="Duration (minutes)"
        type="number"
        min={1}
        max={60}
        step={1}
        required
        value={minutes}
        onChange={setMinutes}
      />
    </ActionForm>
  );
}

function ReasonField({
  value,
  onChange,
}: {
  readonly value: string;
  readonly onChange: (value: string) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>Reason</label>
      <textarea
        id={id}
        required
        rows={2}
        value={value}
        aria-describedby={`${id}-hint`}
        onChange={(event) => {
          onChange(event.target.value);
        }}
      />
      <p id={`${id}-hint`} className="hint">
        Required. Recorded in the audit log, e.g. the support ticket.
      </p>
    </div>
  );
}

/**
 * The impersonation just started: until when, what to do next, and how to end it (for its
 * operator or an admin; the server refuses anyone else).
 */
export function ActiveImpersonation({
  impersonation,
  onEnded,
}: {
  readonly impersonation: Impersonation;
  readonly onEnded: (ended: Impersonation) => void;
}) {
  const now = useNow();
  const session = useSession();
  const end = useAction({
    run: () => endImpersonation(impersonation.environment, impersonation.id),
    invalidates: () => [keys.impersonations(impersonation.environment)],
    onDone: onEnded,
  });

  return (
    <div className="active-impersonation" data-testid="active-impersonation">
      <p>
        <strong>Impersonating {impersonation.userEmail}</strong> for {impersonation.clientName}{' '}
        until <DateTime ms={impersonation.expiresAt} /> (
        {formatRelative(impersonation.expiresAt, now)}).
      </p>
      <p className="impersonation-note">
        Now open the application and sign in: Gatehouse will sign you in as{' '}
        {impersonation.userEmail}
      </p>
      <ErrorAlert error={end.error} />
      {mayEndImpersonation(session, impersonation) && (
        <button
          type="button"
          className="button danger"
          data-testid="end-impersonation"
          disabled={end.isPending}
          onClick={() => {
            end.mutate();
          }}
        >
          {end.isPending ? 'Ending…' : 'End impersonation'}
        </button>
      )}
    </div>
  );
}
