import { useCallback, useEffect, useMemo, useState } from 'react';
import { getSession, signOut } from './api/admin';
import { ApiError, setCsrfToken, setUnauthenticatedHandler } from './api/http';
import type { Session } from './api/types';
import { ErrorAlert, Loading } from './components/Feedback';
import { Layout } from './pages/Layout';
import { SignInPage } from './pages/SignInPage';
import { Routes } from './Routes';
import { permissionsFor, SessionContext, type SessionValue } from './session';

type SessionState =
  | { readonly status: 'restoring' }
  | { readonly status: 'signed-out'; readonly notice?: string }
  | { readonly status: 'signed-in'; readonly session: Session }
  | { readonly status: 'error'; readonly error: unknown };

export function App() {
  const [state, setState] = useState<SessionState>({ status: 'restoring' });
  const [attempt, setAttempt] = useState(0);

  const signedIn = useCallback((session: Session) => {
    setCsrfToken(session.csrfToken);
    setState({ status: 'signed-in', session });
  }, []);

  // Restore the session on load: 401 means sign in.
  useEffect(() => {
    let current = true;
    getSession().then(
      (session) => {
        if (current) signedIn(session);
      },
      (error: unknown) => {
        if (!current) return;
        if (error instanceof ApiError && error.status === 401) setState({ status: 'signed-out' });
        else setState({ status: 'error', error });
      },
    );
    return () => {
      current = false;
    };
  }, [attempt, signedIn]);

  // Any later 401 means the session ended (expired, or signed out elsewhere).
  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setCsrfToken(null);
      setState({ status: 'signed-out', notice: 'Your session has ended; sign in again.' });
    });
    return () => {
      setUnauthenticatedHandler(null);
    };
  }, []);

  const doSignOut = useCallback(async () => {
    try {
      await signOut();
    } catch {
      // Signed out locally either way; the cookie expires on its own.
    } finally {
      setCsrfToken(null);
      setState({ status: 'signed-out' });
    }
  }, []);

  const session = state.status === 'signed-in' ? state.session : null;
  const value = useMemo<SessionValue | null>(
    () =>
      session === null
        ? null
        : { operator: session.operator, can: permissionsFor(session.operator.role) },
    [session],
  );

  if (state.status === 'restoring') {
    return (
      <main className="centered">
        <Loading what="the console" />
      </main>
    );
  }
  if (state.status === 'error') {
    return (
      <main className="centered">
        <h1>Gatehouse console</h1>
        <ErrorAlert error={state.error} />
        <button
          type="button"
          className="button primary"
          onClick={() => {
            setState({ status: 'restoring' });
            setAttempt((n) => n + 1);
          }}
        >
          Try again
        </button>
      </main>
    );
  }
  if (value === null) {
    return (
      <SignInPage
        onSignedIn={signedIn}
        notice={state.status === 'signed-out' ? state.notice : undefined}
      />
    );
  }
  return (
    <SessionContext value={value}>
      <Layout onSignOut={doSignOut}>
        <Routes />
      </Layout>
    </SessionContext>
  );
}
