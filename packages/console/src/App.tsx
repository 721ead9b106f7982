import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Outlet } from 'react-router';
import { getSession, signOut } from './api/admin';
import { ApiError, setCsrfToken, setUnauthenticatedHandler } from './api/http';
import type { Session } from './api/types';
import { ErrorAlert, Loading } from './components/Feedback';
import { Layout } from './pages/Layout';
import { SignInPage } from './pages/SignInPage';
import { permissionsFor, SessionContext, type SessionValue } from './session';

const SESSION = ['session'] as const;

/** The session on load: null when there is none (401). */
async function restoreSession(): Promise<Session | null> {
  try {
    const session = await getSession();
    setCsrfToken(session.csrfToken);
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** The console's root: the sign-in page until there is a session, then the page of the URL. */
export function App() {
  const queryClient = useQueryClient();
  const session = useQuery({ queryKey: SESSION, queryFn: restoreSession, staleTime: Infinity });
  const [notice, setNotice] = useState<string | undefined>(undefined);

  const end = useCallback(
    (why?: string) => {
      setCsrfToken(null);
      setNotice(why);
      // Nothing loaded for this operator outlives their session.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== SESSION[0] });
      queryClient.setQueryData(SESSION, null);
    },
    [queryClient],
  );

  // Any 401 after sign-in means the session ended (expired, or signed out elsewhere).
  useEffect(() => {
    setUnauthenticatedHandler(() => {
      end('Your session has ended; sign in again.');
    });
    return () => {
      setUnauthenticatedHandler(null);
    };
  }, [end]);

  const current = session.data ?? null;
  const value = useMemo<SessionValue | null>(
    () =>
      current === null
        ? null
        : { operator: current.operator, can: permissionsFor(current.operator.role) },
    [current],
  );

  if (session.isPending || (session.isError && session.isFetching)) {
    return (
      <main className="centered">
        <Loading what="the console" />
      </main>
    );
  }
  if (session.isError) {
    return (
      <main className="centered">
        <h1>Gatehouse console</h1>
        <ErrorAlert error={session.error} />
        <button
          type="button"
          className="button primary"
          onClick={() => {
            void session.refetch();
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
        notice={notice}
        onSignedIn={(signedIn) => {
          setCsrfToken(signedIn.csrfToken);
          setNotice(undefined);
          queryClient.setQueryData(SESSION, signedIn);
        }}
      />
    );
  }
  return (
    <SessionContext value={value}>
      <Layout
        onSignOut={async () => {
          try {
            await signOut();
          } catch {
            // Signed out locally either way; the cookie expires on its own.
          }
          end();
        }}
      >
        <Outlet />
      </Layout>
    </SessionContext>
  );
}
