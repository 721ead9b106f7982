import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatehouse, gatehouseProcess } from './harness.js';

describe('gatehouse redirects validate', () => {
  it('prints one line per URI and exits 0 when all are valid', async () => {
    const { code, stdout, stderr } = await gatehouse([
      'redirects',
      'validate',
      '--env',
      'production',
      '--type',
      'native',
      'https://app.example.com/cb',
      'http://127.0.0.1/cb',
      'com.example.app:/cb',
    ]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout.trimEnd().split('\n')).toEqual([
      'valid   https://app.example.com/cb (https)',
      'valid   http://127.0.0.1/cb (loopback)',
      'valid   com.example.app:/cb (private-use-scheme)',
    ]);
  });

  it('exits 1 and names the fix when one URI is refused', async () => {
    const { code, stdout } = await gatehouse([
      'redirects',
      'validate',
      '--env',
      'staging',
      '--type',
      'web',
      'https://app.example.com/cb',
      'HTTPS://App.example.com:443/cb',
    ]);
    expect(code).toBe(1);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /^refused HTTPS:\/\/App\.example\.com:443\/cb: .*register https:\/\/app\.example\.com\/cb instead.*\[not_canonical\]$/,
    );
  });

  it('prints stable JSON with --json', async () => {
    const { code, stdout } = await gatehouse([
      'redirects',
      'validate',
      '--json',
      '--env',
      'development',
      '--type',
      'web',
      'http://localhost:3000/cb',
      'myapp:/cb',
    ]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({
      environment: 'development',
      clientType: 'web',
      results: [
        { uri: 'http://localhost:3000/cb', ok: true, kind: 'loopback' },
        {
          uri: 'myapp:/cb',
          ok: false,
          code: 'private_use_scheme_not_reverse_dns',
          message: expect.stringContaining('reverse-DNS') as unknown,
        },
      ],
    });
  });

  it('holds --type spa to exact https URIs: no wildcard even in staging', async () => {
    const { code, stdout } = await gatehouse([
      'redirects',
      'validate',
      '--env',
      'staging',
      '--type',
      'spa',
      'https://app.example.com/cb',
      'https://*.preview.example.com/cb',
    ]);
    expect(code).toBe(1);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('valid   https://app.example.com/cb (https)');
    expect(lines[1]).toMatch(/\[wildcard_for_spa_client\]$/);
  });

  it('notes on stderr that an unknown environment gets production rules', async () => {
    const { code, stderr } = await gatehouse([
      'redirects',
      'validate',
      '--env',
      'prod',
      '--type',
      'native',
      'https://*.preview.example.com/cb',
    ]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      'note: "prod" is not a built-in environment, so production rules apply to it\n',
    );
  });

  it('never writes control characters from a URI to the terminal', async () => {
    const { stdout } = await gatehouse([
      'redirects',
      'validate',
      '--env',
      'production',
      '--type',
      'web',
      'https://app.example.com/\u001b[2Jcb',
    ]);
    expect(stdout).not.toContain('\u001b');
    expect(stdout).toContain('https://app.example.com/\\x1b[2Jcb');
  });
});

describe('gatehouse redirects match', () => {
  const registered = [
    '--registered',
    'https://app.example.com/callback',
    '--registered',
    'http://127.0.0.1/cb',
  ];

  it('exits 0 and names the entry on a match', async () => {
    const { code, stdout } = await gatehouse([
      'redirects',
      'match',
      ...registered,
      'http://127.0.0.1:53682/cb',
    ]);
    expect(code).toBe(0);
    expect(stdout).toBe('match http://127.0.0.1/cb (with the loopback port exception)\n');
  });

  it('exits 1 on a mismatch and puts a caret under the first difference', async () => {
    const { code, stdout } = await gatehouse([
      'redirects',
      'match',
      ...registered,
      'https://app.example.com/callback/',
    ]);
    expect(code).toBe(1);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(
      /^no match: .*closest is https:\/\/app\.example\.com\/callback, .*trailing slash/,
    );
    expect(lines[1]).toBe('  requested  https://app.example.com/callback/');
    expect(lines[2]).toBe('  expected   https://app.example.com/callback');
    const caretColumn = lines[3]?.indexOf('^');
    expect(caretColumn).toBe('  requested  https://app.example.com/callback'.length);
    expect(lines[3]).toContain('path: trailing-slash');
  });

  it('keeps the caret aligned when the request holds control characters', async () => {
    const { stdout } = await gatehouse([
      'redirects',
      'match',
      ...registered,
      'https://app.example.com/\tcallback',
    ]);
    const lines = stdout.split('\n');
    expect(lines[1]).toBe('  requested  https://app.example.com/\\tcallback');
    expect(lines[3]?.indexOf('^')).toBe('  requested  https://app.example.com/'.length);
  });

  it('shows the loopback registration it compared against', async () => {
    const { stdout } = await gatehouse([
      'redirects',
      'match',
      ...registered,
      'http://localhost:5000/cb',
    ]);
    expect(stdout).toContain('  expected   http://127.0.0.1:5000/cb');
    expect(stdout).toContain(
      '  registered http://127.0.0.1/cb  (a loopback redirect accepts any port)',
    );
    expect(stdout).toContain('host: loopback-host');
  });

  it('colours the difference on a terminal, and not when NO_COLOR is set', async () => {
    const argv = ['redirects', 'match', ...registered, 'http://app.example.com/callback'];
    expect((await gatehouse(argv, { tty: true })).stdout).toContain('\u001b[31m');
    expect((await gatehouse(argv, { tty: true, env: { NO_COLOR: '1' } })).stdout).not.toContain(
      '\u001b[',
    );
    expect((await gatehouse(argv, { tty: false })).stdout).not.toContain('\u001b[');
  });

  it('matches a spa client exactly with --type spa: another loopback port is another origin', async () => {
    const argv = [
      'redirects',
      'match',
      '--env',
      'development',
      '--registered',
      'http://127.0.0.1:5173/cb',
      'http://127.0.0.1:8080/cb',
    ];
    expect((await gatehouse(argv)).code).toBe(0);
    const spa = await gatehouse([...argv, '--type', 'spa']);
    expect(spa.code).toBe(1);
    expect(spa.stdout).toContain('port is part of the app');
    expect(spa.stdout).not.toContain('accepts any port');
  });

  it('honours no wildcard with --env production', async () => {
    const argv = [
      'redirects',
      'match',
      '--registered',
      'https://*.preview.example.com/cb',
      'https://pr-1.preview.example.com/cb',
    ];
    expect((await gatehouse(argv)).code).toBe(0);
    const production = await gatehouse([...argv, '--env', 'production']);
    expect(production.code).toBe(1);
    expect(production.stdout).toContain('wildcards are not honoured in production');
  });

  it('prints JSON with --json', async () => {
    const { code, stdout } = await gatehouse([
      'redirects',
      'match',
      '--json',
      ...registered,
      'http://app.example.com/callback',
    ]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({
      requested: 'http://app.example.com/callback',
      ok: false,
      code: 'redirect_uri_mismatch',
      closest: 'https://app.example.com/callback',
      diff: {
        index: 4,
        component: 'scheme',
        kind: 'scheme',
        expected: 'https://app.example.com/callback',
      },
    });
  });
});

describe('gatehouse redirects lint', () => {
  async function listFile(content: string, name = 'uris.txt'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-lint-'));
    const file = join(dir, name);
    await writeFile(file, content);
    return file;
  }

  it('reports errors with line numbers and warnings, and exits 1 on an error', async () => {
    const file = await listFile(
      '# staging web client\nhttps://app.example.com/cb\n\nhttps://app.example.com/cb/\r\nhttp://app.example.com/cb\n',
    );
    const { code, stdout } = await gatehouse([
      'redirects',
      'lint',
      '--env',
      'staging',
      '--type',
      'web',
      '--file',
      file,
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain(
      'error   line 5: http://app.example.com/cb: Plain http is allowed only on the loopback hosts',
    );
    expect(stdout).toContain('[trailing_slash_pair]');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('3 URIs: 1 error, 1 warning');
  });

  it('exits 0 with warnings only, and 1 with --strict', async () => {
    const file = await listFile('["http://localhost/cb"]', 'uris.json');
    const argv = ['redirects', 'lint', '--env', 'production', '--type', 'native', '--file', file];
    const lenient = await gatehouse(argv);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toContain('[localhost_loopback]');
    expect((await gatehouse([...argv, '--strict'])).code).toBe(1);
  });

  it('reads standard input with --file - and prints JSON', async () => {
    const { code, stdout } = await gatehouse(
      ['redirects', 'lint', '--json', '--env', 'staging', '--type', 'web', '--file', '-'],
      {
        stdin: 'https://*.vercel.app/cb\nhttps://*.example.com/cb\n',
      },
    );
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({
      count: 2,
      errors: [{ uri: 'https://*.vercel.app/cb', line: 1, code: 'wildcard_public_suffix' }],
      warnings: [{ code: 'broad_wildcard', uris: ['https://*.example.com/cb'] }],
    });
  });

  it('refuses a malformed JSON list as a usage error', async () => {
    const file = await listFile('["https://app.example.com/cb", 3]', 'bad.json');
    const { code, stdout, stderr } = await gatehouse([
      'redirects',
      'lint',
      '--env',
      'staging',
      '--type',
      'web',
      '--file',
      file,
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^gatehouse: error: .*bad\.json must be a JSON array of strings\n$/);
  });
});

describe('usage errors', () => {
  it.each([
    [
      ['redirects', 'validate', '--type', 'native', 'https://a.example.com/'],
      /required option '--env <environment>' not specified/,
    ],
    [
      [
        'redirects',
        'validate',
        '--env',
        'production',
        '--type',
        'desktop',
        'https://a.example.com/',
      ],
      /Allowed choices are web, native/,
    ],
    [
      ['redirects', 'validate', '--env', 'production', '--type', 'web'],
      /missing required argument 'uri'/,
    ],
    [
      ['redirects', 'validate', '--env', '', '--type', 'web', 'https://a.example.com/'],
      /--env <environment>' must not be empty/,
    ],
    [
      ['redirects', 'match', 'https://a.example.com/'],
      /required option '--registered <uri>' not specified/,
    ],
    [['redirects', 'valdate'], /unknown command 'valdate'/],
    [
      [
        'redirects',
        'validate',
        '--env',
        'staging',
        '--type',
        'web',
        '--nope',
        'https://a.example.com/',
      ],
      /unknown option '--nope'/,
    ],
    [
      ['redirects', 'lint', '--env', 'staging', '--type', 'web', '--file', '/definitely/not/here'],
      /cannot read \/definitely\/not\/here: no such file/,
    ],
  ])('%j exits 2 with one line', async (argv, message) => {
    const { code, stdout, stderr } = await gatehouse(argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr.startsWith('gatehouse: ')).toBe(true);
  });

  it('prints help and exits 0 with --help', async () => {
    const { code, stdout } = await gatehouse(['redirects', 'match', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--registered <uri>');
  });
});

describe('the installed command', () => {
  it('runs as a separate process with the documented exit codes', async () => {
    const ok = await gatehouseProcess([
      'redirects',
      'match',
      '--registered',
      'http://127.0.0.1/cb',
      'http://127.0.0.1:8123/cb',
    ]);
    expect(ok).toEqual({
      code: 0,
      stdout: 'match http://127.0.0.1/cb (with the loopback port exception)\n',
      stderr: '',
    });
    const mismatch = await gatehouseProcess([
      'redirects',
      'match',
      '--registered',
      'http://127.0.0.1/cb',
      'http://localhost:8123/cb',
    ]);
    expect(mismatch.code).toBe(1);
    const usage = await gatehouseProcess(['redirects', 'validate']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^gatehouse: error: /);
  });

  it('reads a list from standard input', async () => {
    const result = await gatehouseProcess(
      ['redirects', 'lint', '--env', 'production', '--type', 'native', '--file', '-'],
      'http://127.0.0.1/cb\n',
    );
    expect(result).toEqual({ code: 0, stdout: '1 URI: 0 errors, 0 warnings\n', stderr: '' });
  });
});
