/**
 * `gatehouse token --url` / `--headers` print header lines that scripts pipe into `curl -H @-`:
 * a hostile authorization server's access token with line breaks must not add headers of its
 * choosing to the script's request to another party's API.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenStore } from '@gatehouse/login';
import { describe, expect, it } from 'vitest';
import { run, type CliIo } from '../src/program.js';

const hostile = 'tok\r\nX-Forwarded-User: admin\r\nCookie: session=attacker';

describe('gatehouse token header lines', () => {
  it('gatehouse token --url / --headers print no header line the server chose', async () => {
    const where = join(await mkdtemp(join(tmpdir(), 'gatehouse-cli-hdr-')), 'config');
    await new FileTokenStore(where).set('default', {
      issuer: 'https://as.example/e/production',
      clientId: 'ghc_cli',
      accessToken: hostile,
      tokenType: 'Bearer',
      expiresAt: Date.now() + 3_600_000,
    });
    for (const argv of [
      ['token', '--url', 'https://api.example/orders'],
      ['token', '--headers'],
      // The bare token too: scripts build the header line from it.
      ['token'],
    ]) {
      let stdout = '';
      let stderr = '';
      const io: CliIo = {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        readStdin: () => Promise.resolve(''),
        readLine: () => Promise.resolve(''),
        env: { GATEHOUSE_CONFIG_DIR: where, GATEHOUSE_TOKEN_STORE: 'file' },
        cwd: process.cwd(),
        waitForStop: () => Promise.resolve(),
      };
      const code = await run(argv, io);
      expect(code).not.toBe(0);
      expect(stdout).not.toMatch(/X-Forwarded-User|Cookie/i);
      expect(stderr).toMatch(/not a valid credential/);
      // The refusal does not quote the token.
      expect(stderr).not.toContain('attacker');
    }
  });

  it('refuses a GATEHOUSE_TOKEN with a line break on a header line too', async () => {
    let stdout = '';
    const io: CliIo = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => undefined },
      readStdin: () => Promise.resolve(''),
      readLine: () => Promise.resolve(''),
      env: { GATEHOUSE_TOKEN: hostile },
      cwd: process.cwd(),
      waitForStop: () => Promise.resolve(),
    };
    expect(await run(['token', '--headers'], io)).not.toBe(0);
    expect(stdout).toBe('');
  });
});
