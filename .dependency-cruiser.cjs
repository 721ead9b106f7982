// @ts-check
/**
 * Gatehouse's dependency rule, checked by `npm run lint` (`depcruise packages --config
 * .dependency-cruiser.cjs`). Written down in packages/server/README.md ("Layers") too.
 *
 * 1. The server's source is in layers; a module may import its own layer and the ones below,
 *    never one above (type-only imports count: a type is a dependency too). Top to bottom:
 *
 *      entry          index.ts, bootstrap.ts, app.ts: wire everything together
 *      routes         admin/ (the admin API), endpoints/ (the OAuth and OIDC endpoints)
 *      authorization  authorization/: the authorization flow the endpoints share
 *      http           http/: request plumbing (deps, forms, cookies, client authentication,
 *                     sign-in, the error handler)
 *      grants         grants/: one handler per grant type, called by the token endpoint
 *      services       services/: the operations (each audited), shared by routes, CLI and grants
 *      tokens         tokens/: signing and issuing tokens
 *      net            net/: outbound fetches and the address policy
 *      storage        storage/: the database and one store per table
 *      foundation     crypto/, errors, clock.ts, config.ts, protocol.ts
 *      views          pages/, http/html.ts: HTML templates, pure functions of their arguments;
 *                     lowest, so that an error can render its own page (errors/)
 *
 *    So: no http → endpoints, grants → http, services → http, storage → anything above it.
 *    admin/ and endpoints/ are peers that do not import each other.
 *
 * 2. How endpoints and grants reach storage: through `deps.stores`, the stores built once at
 *    start-up. They may read, and call a store's single operations (each one atomic: one
 *    statement, or a transaction the store runs itself, such as spending a code). Anything that
 *    composes several writes, or needs policy (validation, audit, who may do what), is a service,
 *    which may also open a transaction (`withTransaction`). So above the services layer nothing
 *    imports the storage machinery (database, transactions, migrations, caches) except for
 *    types; storage modules' types, constants and pure helpers may be imported anywhere.
 *
 * 3. No import cycles, in any package. A cycle closed only by a type-only import is tolerated
 *    (it cannot change load order); among the services, not even that.
 *
 * 4. Packages use each other through their package names (`@gatehouse/server`, built to dist/),
 *    never through a relative path into another package's files. Tests may share another
 *    package's test fixtures (`test/support/`).
 *
 * There is no list of tolerated violations: a new rule lands with the code that obeys it.
 */

const server = '^packages/server/src/';

/** The server's layers, top to bottom (see 1. above). */
const LAYERS = [
  { name: 'entry', path: `${server}(index|bootstrap|app)\\.ts$` },
  { name: 'routes', path: `${server}(admin|endpoints)/` },
  { name: 'authorization', path: `${server}authorization/` },
  { name: 'http', path: `${server}http/(?!html\\.ts$)` },
  { name: 'grants', path: `${server}grants/` },
  { name: 'services', path: `${server}services/` },
  { name: 'tokens', path: `${server}tokens/` },
  { name: 'net', path: `${server}net/` },
  { name: 'storage', path: `${server}storage/` },
  {
    name: 'foundation',
    path: `${server}(crypto/|errors/|(errors|clock|config|protocol)\\.ts$)`,
  },
  { name: 'views', path: `${server}(pages/|http/html\\.ts$)` },
];

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const layerRules = LAYERS.slice(1).map((layer, index) => ({
  name: `layer-${layer.name}-imports-nothing-above`,
  comment: `${layer.name} may import ${LAYERS.slice(index + 1)
    .map((l) => l.name)
    .join(', ')}; not ${LAYERS.slice(0, index + 1)
    .map((l) => l.name)
    .join(', ')} (see the layers at the top of .dependency-cruiser.cjs)`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(0, index + 1).map((l) => l.path) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-entry-imports',
      comment: 'Only the entry modules import each other; no layer imports them back.',
      severity: 'error',
      from: { path: server, pathNot: LAYERS[0].path },
      to: { path: LAYERS[0].path },
    },
    {
      name: 'routes-are-peers',
      comment:
        'admin/ and endpoints/ share what they need through the layers below, not each other.',
      severity: 'error',
      from: { path: `${server}(admin|endpoints)/` },
      to: { path: `${server}(admin|endpoints)/`, pathNot: `${server}$1/` },
    },
    {
      name: 'storage-through-deps-stores',
      comment:
        'Above the services, storage is reached through deps.stores (see 2. at the top): the ' +
        'database, transactions, migrations and caches are imported for their types only.',
      severity: 'error',
      from: { path: `${server}(admin|endpoints|authorization|http|grants)/` },
      to: {
        path: `${server}storage/(index|database|transaction|migrations|schema|pg-prepared|read-cache|cached-stores|commit-sync|sqlite-checkpointer|change-feed)\\.ts$`,
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'no-circular',
      comment: 'An import cycle hides which module depends on which.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-circular-among-services',
      comment:
        'Services build on one another in one direction (environments at the bottom); ' +
        'not even a type-only cycle.',
      severity: 'error',
      from: { path: `${server}services/` },
      to: { circular: true },
    },
    {
      name: 'no-reaching-into-another-package',
      comment:
        'Use the other package through its name and exports (its built dist/), not its files.',
      severity: 'error',
      from: { path: '^packages/([^/]+)/', pathNot: '^packages/[^/]+/test/' },
      to: { path: '^packages/[^/]+/', pathNot: ['^packages/$1/', '^packages/[^/]+/dist/'] },
    },
    {
      name: 'tests-share-only-fixtures',
      comment: "A test may use another package's test/support/ fixtures, and nothing else of it.",
      severity: 'error',
      from: { path: '^packages/([^/]+)/test/' },
      to: {
        path: '^packages/[^/]+/',
        pathNot: ['^packages/$1/', '^packages/[^/]+/dist/', '^packages/[^/]+/test/support/'],
      },
    },
  ],
  options: {
    // Built output and installed packages are not ours to check; another package's dist/ is
    // where its name resolves, so the edge is seen and its contents are not followed.
    doNotFollow: { path: ['node_modules', '(^|/)dist/'] },
    exclude: { path: ['(^|/)node_modules/'] },
    // Type-only imports are dependencies too (verbatimModuleSyntax keeps them visible).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    cache: false,
  },
};
