import { useEffect, useId, useState, type SubmitEvent } from 'react';
import { signIn } from '../api/admin';
import type { Session } from '../api/types';
import { ErrorAlert } from '../components/Feedback';

export function SignInPage({
  onSignedIn,
  notice,
}: {
  readonly onSignedIn: (session: Session) => void;
  /** Why the operator is here again, e.g. "Your session has ended." */
  readonly notice?: string | undefined;
}) {
  const emailId = useId();
  const passwordId = useId();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  useEffect(() => {
    document.title = 'Sign in · Gatehouse console';
  }, []);

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signIn(email.trim(), password));
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <form
        className="card sign-in-card"
        aria-labelledby={`${emailId}-title`}
        onSubmit={(event) => {
          void submit(event);
        }}
      >
        <p className="brand">Gatehouse console</p>
        <h1 id={`${emailId}-title`}>Sign in</h1>
        {notice !== undefined && <p className="hint">{notice}</p>}
        <div className="field">
          <label htmlFor={emailId}>Email</label>
          <input
            id={emailId}
            type="email"
            name="email"
            autoComplete="username"
            required
            autoFocus
            value={email}
            onChange={(event) => {
              setEmail(event.target.value);
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={passwordId}>Password</label>
          <input
            id={passwordId}
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => {
              setPassword(event.target.value);
            }}
          />
        </div>
        <ErrorAlert error={error} />
        <button type="submit" className="button primary wide" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
