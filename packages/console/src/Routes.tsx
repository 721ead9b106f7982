import { ClientPage } from './pages/ClientPage';
import { AuditPage } from './pages/AuditPage';
import { EnvironmentPage } from './pages/EnvironmentPage';
import { EnvironmentsPage } from './pages/EnvironmentsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { OperatorsPage } from './pages/OperatorsPage';
import { matchRoute, usePath } from './router';

export function Routes() {
  const route = matchRoute(usePath());
  switch (route.page) {
    case 'environments':
      return <EnvironmentsPage />;
    case 'environment':
      return <EnvironmentPage key={route.env} env={route.env} />;
    case 'client':
      return (
        <ClientPage
          key={`${route.env}/${route.clientId}`}
          env={route.env}
          clientId={route.clientId}
        />
      );
    case 'audit':
      return <AuditPage />;
    case 'operators':
      return <OperatorsPage />;
    case 'not-found':
      return <NotFoundPage />;
  }
}
