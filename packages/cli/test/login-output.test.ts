/**
 * What `whoami` prints is text a server chose (the email, the subject): it reaches the terminal
 * with no control character or bidirectional override left raw, in text and in JSON alike.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenStore } from '@gatehouse/login';
import { describe, expect, it } from 'vitest';
import { run, type CliIo } from '../src/program.js';

/** C0, DEL, C1 and the bidi controls: none may reach the terminal raw. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const RAW_CONTROLS = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

describe('whoami prints what the server chose safely', () => {
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

  it('escapes terminal controls and bidi overrides in whoami and whoami --json (a store written before emails were checked)', async () => {
    const config = join(await mkdtemp(join(tmpdir(), 'gatehouse-cli-out-')), 'config');
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
