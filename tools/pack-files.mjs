#!/usr/bin/env node
// The files a published package carries that do not live in its folder: run by each package's
// `prepack` (copy them in) and `postpack` (`--clean`: take them out again), so the repository keeps
// one source of truth for each.
//
// - LICENSE and NOTICE: the root ones (npm packs a package's own LICENSE only).
// - @gatehouse/server also carries the admin console's build, packages/console/dist, as
//   dist/console/: the console is a private workspace package, and the server serves it from there
//   when installed from the registry (src/admin/index.ts, DEFAULT_CONSOLE_DIR).
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const packageDir = process.cwd();
const { name } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const clean = process.argv.includes('--clean');

const notices = ['LICENSE', 'NOTICE'];
const consoleCopy = join(packageDir, 'dist', 'console');

if (clean) {
  for (const file of notices) rmSync(join(packageDir, file), { force: true });
  if (name === '@gatehouse/server') rmSync(consoleCopy, { recursive: true, force: true });
} else {
  for (const file of notices) cpSync(join(root, file), join(packageDir, file));
  if (name === '@gatehouse/server') {
    const built = join(root, 'packages', 'console', 'dist');
    if (!existsSync(join(built, 'index.html'))) {
      console.error(
        `pack: the admin console is not built (no ${join(built, 'index.html')}); run \`npm run build\` at the repository root first`,
      );
      process.exit(1);
    }
    rmSync(consoleCopy, { recursive: true, force: true });
    cpSync(built, consoleCopy, { recursive: true });
  }
}
