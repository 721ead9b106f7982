/**
 * What a user installs from the registry: every published workspace package packed with
 * `npm pack`, installed into an empty folder outside the workspace, then `npx gatehouse serve`,
 * the admin console loaded from it, and each package README's example run against the install.
 *
 * The examples are read from the READMEs themselves, so a README change is tested; the few
 * substitutions (a local issuer instead of auth.example.com, a free port instead of 3000 or 4000)
 * are asserted to apply, so a README that drifts from them fails here rather than going untested.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The packages published to the registry (the console is private: the server carries its build). */
const PUBLISHED = ['redirect-policy', 'resource', 'server', 'login', 'cli'];
/** Installed next to the packages for the resource README's MCP example: the workspace's versions. */
const EXAMPLE_DEPENDENCIES = ['express', '@modelcontextprotocol/sdk'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** npm's own variables from an enclosing `npm test` must not steer the inner npm (its prefix above all). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_nodedir', 'npm_config_cache', 'npm_config_registry']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.toLowerCase().startsWith('npm_') || keep.has(key)) env[key] = value;
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  return { ...env, NO_COLOR: '1', ...extra };
}

function run(
  command: string,
  args: string[],
  cwd: string,
  extraEnv: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: childEnv(extraEnv), maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function ok(
  command: string,
  args: string[],
  cwd: string,
  extraEnv: Record<string, string> = {},
): Promise<Run> {
  const result = await run(command, args, cwd, extraEnv);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
  return result;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/**
 * The workspace's compiled better-sqlite3 as a prebuild-install local prebuild
 * (`better-sqlite3-v<version>-node-v<abi>-<platform>-<arch>.tar.gz` holding
 * build/Release/better_sqlite3.node); undefined where there is none, and the installer compiles.
 */
async function localSqlitePrebuild(scratch: string): Promise<string | undefined> {
  const module = join(ROOT, 'node_modules', 'better-sqlite3');
  if (!existsSync(join(module, 'build', 'Release', 'better_sqlite3.node'))) return undefined;
  const { version } = JSON.parse(await readFile(join(module, 'package.json'), 'utf8')) as {
    version: string;
  };
  const dir = join(scratch, 'prebuilds');
  await mkdir(dir);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await ok(
    'tar',
    ['-czf', join(dir, name), '-C', module, 'build/Release/better_sqlite3.node'],
    ROOT,
  );
  return dir;
}

/** The fenced code blocks of a README, with their language tags. */
async function codeBlocks(pkg: string): Promise<{ lang: string; code: string }[]> {
  const text = await readFile(join(ROOT, 'packages', pkg, 'README.md'), 'utf8');
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1] ?? '',
    code: m[2] ?? '',
  }));
}

async function firstBlock(pkg: string, test: (code: string) => boolean): Promise<string> {
  const block = (await codeBlocks(pkg)).find((b) => test(b.code));
  if (block === undefined) throw new Error(`no such example in packages/${pkg}/README.md`);
  return block.code;
}

/** `text` with `from` replaced by `to`, failing when the README no longer has `from`. */
function substitute(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`the README example no longer contains: ${from}`);
  return text.replace(from, to);
}

/** Waits for a line on a child's output matching `pattern`. */
function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, ms: number) {
  return new Promise<RegExpExecArray>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      reject(new Error(`timed out waiting for ${String(pattern)}; output so far:\n${seen}`));
    }, ms);
    let watched = '';
    child[stream]?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      watched += chunk.toString('utf8');
      const match = pattern.exec(watched);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child[stream === 'stdout' ? 'stderr' : 'stdout']?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${String(code)}) before ${String(pattern)}:\n${seen}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else
      child.once('exit', (code) => {
        resolve(code ?? 1);
      });
  });
}

describe('the packages as installed from the registry', () => {
  let scratch = '';
  let app: string;
  let installLog: string;
  let serve: ChildProcess | undefined;
  let serveOutput = '';
  let url: string;
  let demo: { clientId: string; email: string; password: string };
  let browser: Browser | undefined;

  beforeAll(async () => {
    const missing = [
      join('packages', 'console', 'dist', 'index.html'),
      ...PUBLISHED.map((p) => join('packages', p, 'dist')),
    ].filter((path) => !existsSync(join(ROOT, path)));
    if (missing.length > 0)
      throw new Error(
        `the packages are not built (missing ${missing.join(', ')}): run \`npm run build\` at the repository root first`,
      );
    scratch = await mkdtemp(join(tmpdir(), 'gatehouse-packed-'));
    const packs = join(scratch, 'packs');
    app = join(scratch, 'app');
    await mkdir(packs);
    await mkdir(app);

    // The packages as the registry would have them (prepack adds LICENSE, NOTICE, the console).
    await ok(
      'npm',
      [
        'pack',
        '--silent',
        '--pack-destination',
        packs,
        ...PUBLISHED.flatMap((p) => ['-w', `packages/${p}`]),
      ],
      ROOT,
    );
    const tarballs = (await readdir(packs)).filter((f) => f.endsWith('.tgz')).sort();
    expect(tarballs).toHaveLength(PUBLISHED.length);

    const versions = await Promise.all(
      EXAMPLE_DEPENDENCIES.map(async (name) => {
        const manifest = JSON.parse(
          await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'),
        ) as { version: string };
        return `${name}@${manifest.version}`;
      }),
    );
    await writeFile(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'gatehouse-install-check', private: true, type: 'module' }, null, 2)}\n`,
    );
    // The npm cache is warm from the workspace's own install. A user's better-sqlite3 install
    // fetches a prebuilt binary; here, without the internet, its installer is handed the one the
    // workspace built for this Node.js as a local prebuild (compiling it again takes minutes).
    const prebuilds = await localSqlitePrebuild(scratch);
    const install = await ok(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        // A registry connection that stalls is dropped and retried after two minutes; npm's own
        // five, times its retries, outlasted the hook (seen once in CI: a fetch hung 10 minutes).
        '--fetch-timeout=120000',
        ...tarballs.map((t) => join(packs, t)),
        ...versions,
      ],
      app,
      prebuilds === undefined ? {} : { npm_config_better_sqlite3_local_prebuilds: prebuilds },
    );
    installLog = install.stdout + install.stderr;

    const port = await freePort();
    serve = spawn(
      'npx',
      ['--no-install', 'gatehouse', 'serve', '--port', String(port), '--data-dir', 'data'],
      // Its own process group: npx runs the command through a shell, and all of them must stop.
      { cwd: app, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    serve.stdout?.on('data', (chunk: Buffer) => (serveOutput += chunk.toString('utf8')));
    serve.stderr?.on('data', (chunk: Buffer) => (serveOutput += chunk.toString('utf8')));
    await waitFor(serve, 'stdout', /Stop with Ctrl-C/, 60_000);
    url = /Gatehouse is listening on (\S+)/.exec(serveOutput)?.[1] ?? '';
    const field = (name: string) =>
      new RegExp(`^ {2}${name} +(\\S+)`, 'm').exec(serveOutput)?.[1] ?? '';
    demo = { clientId: field('client_id'), email: field('user'), password: field('password') };
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    if (serve?.pid !== undefined && serve.exitCode === null) {
      const group = -serve.pid;
      process.kill(group, 'SIGINT');
      const stopped = await Promise.race([
        exited(serve).then(() => true),
        new Promise<false>((resolve) =>
          setTimeout(() => {
            resolve(false);
          }, 10_000),
        ),
      ]);
      if (!stopped) process.kill(group, 'SIGKILL');
    }
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  }, 60_000);

  it('installs without engine warnings, with the console inside @gatehouse/server', async () => {
    expect(installLog).not.toMatch(/EBADENGINE/);
    const server = join(app, 'node_modules', '@gatehouse', 'server');
    expect(existsSync(join(server, 'dist', 'console', 'index.html'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@gatehouse', 'console'))).toBe(false);
    for (const pkg of ['redirect-policy', 'resource', 'server', 'login']) {
      const dir = join(app, 'node_modules', '@gatehouse', pkg);
      expect(await readFile(join(dir, 'LICENSE'), 'utf8')).toBe(
        await readFile(join(ROOT, 'LICENSE'), 'utf8'),
      );
      expect(existsSync(join(dir, 'NOTICE'))).toBe(true);
    }
    expect(existsSync(join(app, 'node_modules', 'gatehouse', 'LICENSE'))).toBe(true);
    // The copies prepack made in the workspace are gone again.
    expect(existsSync(join(ROOT, 'packages', 'server', 'dist', 'console'))).toBe(false);
    expect(existsSync(join(ROOT, 'packages', 'server', 'LICENSE'))).toBe(false);
  });

  it('`npx gatehouse serve` serves the admin console and its assets', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(demo.clientId).toMatch(/^ghc_/);
    const page = await fetch(`${url}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/admin\/assets\/[^"]+)"/g)].map((m) => m[1]);
    const script = assets.find((a) => a?.endsWith('.js'));
    expect(script).toBeDefined();
    for (const asset of assets) {
      const response = await fetch(`${url}${asset ?? ''}`);
      expect(response.status, asset).toBe(200);
      await response.arrayBuffer();
    }
    const js = await fetch(`${url}${script ?? ''}`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
  });

  it("runs @gatehouse/redirect-policy's README example with the results it states", async () => {
    const example = await firstBlock('redirect-policy', (c) => c.includes('validateRedirectUri('));
    const importEnd = example.indexOf(';\n', example.indexOf('import {'));
    const imports = example.slice(0, importEnd + 2);
    // Each call followed by a `// { ... }` comment: print the result, and check what it states.
    const calls = [
      ...example.matchAll(/^((?:validate|match)RedirectUri\([\s\S]*?\));\n\/\/ (\{.*)$/gm),
    ];
    expect(calls.length).toBeGreaterThanOrEqual(4);
    const program = [
      imports,
      ...calls.map((c) => `console.log(JSON.stringify(${c[1] ?? ''}));`),
    ].join('\n');
    await writeFile(join(app, 'redirect-policy-example.mjs'), program);
    const result = await ok('node', ['redirect-policy-example.mjs'], app);
    const printed = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as object);
    calls.forEach((call, i) => {
      const stated = call[2] ?? '';
      const expected: Record<string, unknown> = {
        ok: /\bok: true\b/.test(stated),
      };
      for (const m of stated.matchAll(
        /\b(kind|code|via|registered|suggestion|closest): '([^']*)'/g,
      ))
        expected[m[1] ?? ''] = m[2];
      expect(printed[i], call[1]).toMatchObject(expected);
    });
  });

  it("runs the `gatehouse redirects` examples of the command's README, output and all", async () => {
    const blocks = (await codeBlocks('cli')).filter((b) =>
      /^\$ gatehouse redirects (validate|match) /.test(b.code),
    );
    expect(blocks.length).toBe(3);
    for (const { code } of blocks) {
      const [commandLine = '', ...expected] = code.trimEnd().split('\n');
      const args = commandLine.replace(/^\$ gatehouse /, '').split(/ +/);
      const result = await run(join(app, 'node_modules', '.bin', 'gatehouse'), args, app);
      expect(result.stdout.trimEnd(), commandLine).toBe(expected.join('\n'));
    }
  });

  it("runs @gatehouse/server's README example", async () => {
    const example = await firstBlock('server', (c) => c.includes('startServer('));
    const port = await freePort();
    const program = substitute(example, 'port: 4000', `port: ${port}`);
    const dir = join(app, 'server-example');
    await mkdir(dir);
    await writeFile(join(dir, 'example.mjs'), program);
    const result = await ok('node', ['example.mjs'], dir);
    // What the example prints. The server's own log lines are JSON, written
    // asynchronously, so they may come before or after the example's line.
    const printed = result.stdout
      .trimEnd()
      .split('\n')
      .filter((line) => !line.startsWith('{'));
    expect(printed).toEqual([`http://127.0.0.1:${port}`]);
    expect(existsSync(join(dir, '.gatehouse'))).toBe(true);
  });

  it("runs @gatehouse/resource's README example (MCP over Express) against the server", async () => {
    const example = await firstBlock('resource', (c) => c.includes('createResourceServer('));
    const port = await freePort();
    const rs = `http://127.0.0.1:${port}`;
    const issuer = `${url}/e/development`;
    let program = substitute(example, "'https://mcp.example.com/mcp'", `'${rs}/mcp'`);
    program = substitute(program, "'https://auth.example.com/e/production'", `'${issuer}'`);
    program = substitute(
      program,
      'app.listen(3000);',
      `app.listen(${port}, '127.0.0.1', () => console.log('listening'));`,
    );
    await writeFile(join(app, 'resource-example.mjs'), program);

    // The resource and a service client that may ask for it, registered the README's way.
    const gatehouse = join(app, 'node_modules', '.bin', 'gatehouse');
    await ok(
      gatehouse,
      [
        'resources',
        'add',
        '--data-dir',
        'data',
        '--env',
        'development',
        '--uri',
        `${rs}/mcp`,
        '--name',
        'Example MCP',
        '--scope',
        'mcp:tools',
      ],
      app,
    );
    const created = await ok(
      gatehouse,
      [
        'clients',
        'create',
        '--data-dir',
        'data',
        '--env',
        'development',
        '--type',
        'web',
        '--name',
        'Service',
        '--grant',
        'client_credentials',
        '--json',
      ],
      app,
    );
    const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string };

    const child = spawn('node', ['resource-example.mjs'], {
      cwd: app,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitFor(child, 'stdout', /listening/, 30_000);
      const metadata = await fetch(`${rs}/.well-known/oauth-protected-resource/mcp`);
      expect(metadata.status).toBe(200);
      expect(await metadata.json()).toMatchObject({
        resource: `${rs}/mcp`,
        authorization_servers: [issuer],
      });

      const initialize = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'install-check', version: '1' },
        },
      };
      const mcp = (body: object, token?: string) =>
        fetch(`${rs}/mcp`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          },
          body: JSON.stringify(body),
        });
      const refused = await mcp(initialize);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain(
        `resource_metadata="${rs}/.well-known/oauth-protected-resource/mcp"`,
      );

      // The running server learns of the CLI's registrations within a second or so.
      let token: string | undefined;
      for (let attempt = 0; attempt < 20 && token === undefined; attempt++) {
        const response = await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            resource: `${rs}/mcp`,
            scope: 'mcp:tools',
          }),
        });
        if (response.ok) token = ((await response.json()) as { access_token: string }).access_token;
        else await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(token).toBeDefined();

      const call = await mcp(
        {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'whoami', arguments: {} },
        },
        token,
      );
      expect(call.status).toBe(200);
      const text = await call.text();
      // JSON, or one server-sent event carrying it.
      const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '');
      expect(JSON.parse(json)).toMatchObject({
        id: 2,
        result: { content: [{ type: 'text', text: client.client_id }] },
      });
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  });

  it("runs @gatehouse/login's README example: a browser sign-in (Chromium) to the server", async () => {
    const example = await firstBlock('login', (c) => c.includes('loopbackLogin('));
    const issuer = `${url}/e/development`;
    let program = substitute(
      example,
      "issuer: 'https://auth.example.com/e/production',",
      // A local http issuer, and no system browser: the test's Chromium plays the user.
      `issuer: '${issuer}', allowHttpLoopbackIssuer: true, openBrowser: false,`,
    );
    program = substitute(
      program,
      "clientId: 'ghc_production_...',",
      `clientId: '${demo.clientId}',`,
    );
    program += '\nconsole.log(JSON.stringify({ accessToken }));\n';
    await writeFile(join(app, 'login-example.mjs'), program);

    browser = await launchChromium();
    const child = spawn('node', ['login-example.mjs'], {
      cwd: app,
      env: childEnv({
        GATEHOUSE_CONFIG_DIR: join(scratch, 'config'),
        GATEHOUSE_TOKEN_STORE: 'file',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const authorize = (await waitFor(child, 'stderr', /https?:\/\/\S+\/authorize\?\S+/, 30_000))[0];
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(authorize);
    await page.getByLabel('Email').fill(demo.email);
    await page.getByLabel('Password').fill(demo.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const allow = page.getByRole('button', { name: 'Allow' });
    await allow
      .or(page.getByText(/Signed in to/))
      .first()
      .waitFor();
    if (await allow.isVisible()) await allow.click();
    expect(await exited(child)).toBe(0);
    await context.close();

    const { accessToken } = JSON.parse(stdout.trim()) as { accessToken: string };
    const userinfo = await fetch(`${issuer}/userinfo`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ email: demo.email });
  });
});
