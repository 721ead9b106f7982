import { useEffect, useState } from 'react';
import { signIn } from '../api/admin';
import { useAction } from '../api/queries';
import type { Session } from '../api/types';
import { ActionForm, TextField } from '../components/Form';

export function SignInPage({
  onSignedIn,
  notice,
}: {
  readonly onSignedIn: (session: Session) => void;
  /** Why the operator is here again, e.g. "Your session has ended." */
  readonly notice?: string | undefined;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const signingIn = useAction({ run: () => signIn(email.trim(), password), onDone: onSignedIn });

  useEffect(() => {
    document.title = 'Sign in · Gatehouse console';
  }, []);

  return (
    <main className="sign-in">
      <ActionForm
        className="card sign-in-card"
        aria-labelledby="sign-in-title"
        action={signingIn}
        submitLabel="Sign in"
        busyLabel="Signing in…"
        buttonClassName="button primary wide"
      >
        <p className="brand">Gatehouse console</p>
        <h1 id="sign-in-title">Sign in</h1>
        {notice !== undefined && <p className="hint">{notice}</p>}
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete="username"
          required
          autoFocus
          value={email}
          onChange={setEmail}
        />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={setPassword}
        />
      </ActionForm>
    </main>
  );
}
