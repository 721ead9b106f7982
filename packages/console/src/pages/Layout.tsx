import { useEffect, useState, type ReactNode } from 'react';
import { Link, useLocation } from 'react-router';
import { Badge } from '../components/Badges';
import { paths } from '../paths';
import { useSession } from '../session';

const NAV = [
  { label: 'Environments', to: paths.environments(), section: 'environments' },
  { label: 'Audit log', to: paths.audit(), section: 'audit' },
  { label: 'Operators', to: paths.operators(), section: 'operators' },
] as const;

export function Layout({
  children,
  onSignOut,
}: {
  readonly children: ReactNode;
  readonly onSignOut: () => Promise<void>;
}) {
  const { operator } = useSession();
  const { pathname } = useLocation();
  const section = pathname.split('/').find((part) => part !== '') ?? 'environments';
  // A new page starts at its top, as a page load would.
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [pathname]);
  const [signingOut, setSigningOut] = useState(false);

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <div className="app-header-inner">
          <Link to={paths.environments()} className="brand">
            Gatehouse console
          </Link>
          <nav aria-label="Main">
            <ul className="nav">
              {NAV.map((item) => (
                <li key={item.section}>
                  <Link
                    to={item.to}
                    className="nav-link"
                    aria-current={section === item.section ? 'page' : undefined}
                  >
                    {item.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <div className="operator" data-testid="operator">
            <span className="operator-email">{operator.email}</span>
            <Badge tone={operator.role === 'admin' ? 'info' : 'neutral'}>{operator.role}</Badge>
            <button
              type="button"
              className="button secondary small"
              disabled={signingOut}
              onClick={() => {
                setSigningOut(true);
                void onSignOut();
              }}
            >
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main" className="app-main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
