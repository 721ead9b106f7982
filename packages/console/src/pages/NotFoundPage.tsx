import { Link } from 'react-router';
import { paths } from '../paths';
import { usePageTitle } from './usePageTitle';

export function NotFoundPage() {
  usePageTitle('Not found');
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no console page here. <Link to={paths.environments()}>Go to the environments</Link>
        .
      </p>
    </section>
  );
}
