/**
 * What `whoami` prints is text a server chose (the email, the subject): it reaches the terminal
 * with no control character or bidirectional override left raw, in text and in JSON alike. And
 * `logout`'s exit code tells a script whether the tokens still work at the server.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenStore } from '@gatehouse/login';
import { describe, expect, it } from 'vitest';
import { run, type CliIo } from '../src/program.js';

/** C0, DEL, C1 and the bidi controls: none may reach the terminal raw. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const RAW_CONTROLS = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

async function cli(config: string, argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    readStdin: () => Promise.resolve(''),
    readLine: () => Promise.resolve(''),
    env: { GATEHOUSE_CONFIG_DIR: config, GATEHOUSE_TOKEN_STORE: 'file' },
    cwd: process.cwd(),
    waitForStop: () => Promise.resolve(),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

async function configDir(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'gatehouse-cli-out-')), 'config');
}

describe('whoami prints what the server chose safely', () => {
  it('escapes terminal controls and bidi overrides in whoami and whoami --json (a store written before emails were checked)', async () => {
    const config = await configDir();
    // 8-bit CSI and OSC (clipboard write), an RTL override: what a hostile server would send.
    const email = 'olive\u009b2J@example.com\u009d52;c;cm0gLXJmIH4=\u0007';
    const subject = 'olive\u202egnp.exe';
    await new FileTokenStore(config).set('default', {
      issuer: 'https://auth.example',
      clientId: 'cli',
      accessToken: 'at',
      tokenType: 'Bearer',
      expiresAt: Date.now() + 600_000,
      subject,
      email,
    });
    const text = await cli(config, ['whoami']);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(RAW_CONTROLS);
    expect(text.stdout).toContain('olive\\x9b2J@example.com');
    const json = await cli(config, ['whoami', '--json']);
    expect(json.code).toBe(0);
    expect(json.stdout).not.toMatch(RAW_CONTROLS);
    // Still JSON, and it says exactly what is stored.
    expect(JSON.parse(json.stdout)).toMatchObject({ email, subject });
  });
});

describe('logout tells a script whether the tokens still work at the server', () => {
  /** A server whose metadata has `revocation_endpoint` or not, and whose revocation refuses. */
  async function server(revocation: boolean) {
    const http = createServer((request, response) => {
      const json = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      request.resume();
      if (request.url === '/.well-known/openid-configuration')
        json(200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          ...(revocation ? { revocation_endpoint: `${issuer}/revoke` } : {}),
        });
      else json(401, { error: 'invalid_client' });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    return {
      issuer,
      close: () =>
        new Promise<void>((resolve) => {
          http.closeAllConnections();
          http.close(() => {
            resolve();
          });
        }),
    };
  }

  async function logoutFrom(issuer: string) {
    const config = await configDir();
    await new FileTokenStore(config).set('default', {
      issuer,
      clientId: 'cli',
      accessToken: 'at',
      refreshToken: 'rt',
      tokenType: 'Bearer',
      expiresAt: Date.now() + 600_000,
      allowHttpLoopbackIssuer: true,
    });
    const out = await cli(config, ['logout']);
    // Forgotten here in every case.
    expect((await cli(config, ['whoami'])).code).toBe(1);
    return out;
  }

  it('exits 1 when the server refused to revoke or could not be reached (the tokens may still work there), in one line', async () => {
    const refusing = await server(true);
    try {
      const refused = await logoutFrom(refusing.issuer);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe(
        'Logged out (profile default); the server refused to revoke the tokens (invalid_client), so they were removed here only and may stay valid at the server until they expire.\n',
      );
    } finally {
      await refusing.close();
    }
    const gone = await server(true);
    await gone.close();
    const unreachable = await logoutFrom(gone.issuer);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stdout).toBe(
      'Logged out (profile default); the server could not be reached to revoke the tokens, so they were removed here only and may stay valid at the server until they expire.\n',
    );
  });

  it('exits 0 when the server offers no revocation: logout did all there is to do', async () => {
    const plain = await server(false);
    try {
      const out = await logoutFrom(plain.issuer);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('the server offers no token revocation');
    } finally {
      await plain.close();
    }
  });
});
