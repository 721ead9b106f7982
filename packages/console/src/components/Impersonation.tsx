import { useId, useState, type SubmitEvent } from 'react';
import { endImpersonation, startImpersonation } from '../api/admin';
import type { Client, Impersonation, User } from '../api/types';
import { formatDateTime, formatRelative } from '../format';
import { useNow } from '../hooks';
import { ErrorAlert } from './Feedback';

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
  const ids = { choice: useId(), reason: useId(), minutes: useId() };
  const choices =
    users !== undefined
      ? users.filter((u) => !u.disabled).map((u) => ({ value: u.id, label: u.email }))
      : clients.map((c) => ({ value: c.clientId, label: `${c.name} (${c.clientId})` }));
  const [choice, setChoice] = useState(choices[0]?.value ?? '');
  const [reason, setReason] = useState('');
  const [minutes, setMinutes] = useState(String(DEFAULT_MINUTES));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const minutesNumber = Number(minutes);
  const minutesValid = Number.isInteger(minutesNumber) && minutesNumber >= 1 && minutesNumber <= 60;
  const canSubmit = !busy && choice !== '' && reason.trim() !== '' && minutesValid;

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    if (!canSubmit) return;
    setBusy(true);
    setError(undefined);
    try {
      const started = await startImpersonation(environment, {
        userId: user !== undefined ? user.id : choice,
        clientId: client !== undefined ? client.clientId : choice,
        reason: reason.trim(),
        minutes: minutesNumber,
      });
      onStarted(started);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="form impersonation-form"
      data-testid="impersonation-form"
      onSubmit={(event) => {
        void submit(event);
      }}
    >
      {choices.length === 0 ? (
        <p className="hint">
          {users !== undefined
            ? 'This environment has no enabled users to impersonate.'
            : 'This environment has no clients.'}
        </p>
      ) : (
        <div className="field">
          <label htmlFor={ids.choice}>{users !== undefined ? 'User' : 'Client'}</label>
          <select
            id={ids.choice}
            value={choice}
            onChange={(event) => {
              setChoice(event.target.value);
            }}
          >
            {choices.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
      )}
      <div className="field">
        <label htmlFor={ids.reason}>Reason</label>
        <textarea
          id={ids.reason}
          required
          rows={2}
          value={reason}
          aria-describedby={`${ids.reason}-hint`}
          onChange={(event) => {
            setReason(event.target.value);
          }}
        />
        <p id={`${ids.reason}-hint`} className="hint">
          Required. Recorded in the audit log, e.g. the support ticket.
        </p>
      </div>
      <div className="field field-narrow">
        <label htmlFor={ids.minutes}>Duration (minutes)</label>
        <input
          id={ids.minutes}
          type="number"
          min={1}
          max={60}
          step={1}
          required
          value={minutes}
          onChange={(event) => {
            setMinutes(event.target.value);
          }}
        />
      </div>
      <ErrorAlert error={error} />
      <div className="actions">
        <button type="submit" className="button primary" disabled={!canSubmit}>
          {busy ? 'Starting…' : 'Start impersonation'}
        </button>
        {onCancel !== undefined && (
          <button type="button" className="button secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

/** The impersonation just started: until when, what to do next, and how to end it. */
export function ActiveImpersonation({
  impersonation,
  onEnded,
}: {
  readonly impersonation: Impersonation;
  readonly onEnded: (ended: Impersonation) => void;
}) {
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const end = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      onEnded(await endImpersonation(impersonation.environment, impersonation.id));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="active-impersonation" data-testid="active-impersonation">
      <p>
        <strong>Impersonating {impersonation.userEmail}</strong> for {impersonation.clientName}{' '}
        until{' '}
        <time dateTime={new Date(impersonation.expiresAt).toISOString()}>
          {formatDateTime(impersonation.expiresAt)}
        </time>{' '}
        ({formatRelative(impersonation.expiresAt, now)}).
      </p>
      <p className="impersonation-note">
        Now open the application and sign in: Gatehouse will sign you in as{' '}
        {impersonation.userEmail}
      </p>
      <ErrorAlert error={error} />
      <button
        type="button"
        className="button danger"
        data-testid="end-impersonation"
        disabled={busy}
        onClick={() => {
          void end();
        }}
      >
        {busy ? 'Ending…' : 'End impersonation'}
      </button>
    </div>
  );
}
