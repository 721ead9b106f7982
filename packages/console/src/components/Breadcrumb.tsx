import { Link } from 'react-router';
import { paths } from '../paths';

/** The way back from a page: Environments, then the environment `env` when the page is in one. */
export function Breadcrumb({ env }: { readonly env?: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to={paths.environments()}>Environments</Link> <span aria-hidden="true">/</span>
      {env !== undefined && (
        <>
          {' '}
          <Link to={paths.environment(env)}>{env}</Link> <span aria-hidden="true">/</span>
        </>
      )}
    </nav>
  );
}
