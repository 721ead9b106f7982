/**
 * The console's pages (react-router). The server answers every /admin/* page path with
 * index.html, so each of these URLs can be reloaded or bookmarked.
 */
import { useParams, type RouteObject } from 'react-router';
import { App } from './App';
import { AuditPage } from './pages/AuditPage';
import { ClientPage } from './pages/ClientPage';
import { EnvironmentPage } from './pages/EnvironmentPage';
import { EnvironmentsPage } from './pages/EnvironmentsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { OperatorsPage } from './pages/OperatorsPage';
import { RedirectInventoryPage } from './pages/RedirectInventoryPage';

/** A page per environment (and client): its state starts afresh when the URL names another. */
function EnvironmentRoute() {
  const { env = '' } = useParams();
  return <EnvironmentPage key={env} env={env} />;
}

function RedirectInventoryRoute() {
  const { env = '' } = useParams();
  return <RedirectInventoryPage key={env} env={env} />;
}

function ClientRoute() {
  const { env = '', clientId = '' } = useParams();
  return <ClientPage key={`${env}/${clientId}`} env={env} clientId={clientId} />;
}

export const routes: RouteObject[] = [
  {
    path: '/',
    element: <App />,
    children: [
      { index: true, element: <EnvironmentsPage /> },
      { path: 'environments', element: <EnvironmentsPage /> },
      { path: 'environments/:env', element: <EnvironmentRoute /> },
      { path: 'environments/:env/redirects', element: <RedirectInventoryRoute /> },
      { path: 'environments/:env/clients/:clientId', element: <ClientRoute /> },
      { path: 'audit', element: <AuditPage /> },
      { path: 'operators', element: <OperatorsPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
];
