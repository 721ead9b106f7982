import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData, type CliRun } from './harness.js';

let workDir: string;
const data = (): string[] => ['--data-dir', join(workDir, 'data')];
const cli = (argv: string[]): Promise<CliRun> => gatehouse([...argv, ...data()], { cwd: workDir });

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gatehouse-plan-settings-'));
  await initData(data());
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const jwk = JSON.stringify({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid: 'k1',
});

/** A JSON file (YAML's subset), so the JWK Set goes in as it is. */
const file = (extra: Record<string, unknown> = {}, env: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: 1,
    clients: [
      {
        key: 'portal',
        name: 'Portal',
        type: 'web',
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [JSON.parse(jwk) as unknown] },
        idTokenSignedResponseAlg: 'ES256',
        requirePar: true,
        pkceExemptWithNonce: true,
        ...extra,
        environments: {
          staging: {
            redirectUris: ['https://portal.staging.example.com/callback'],
            postLogoutRedirectUris: ['https://portal.staging.example.com/signed-out'],
            backchannelLogoutUri: 'https://portal.staging.example.com/backchannel',
            ...env,
          },
        },
      },
    ],
  });

async function portal(): Promise<Record<string, unknown>> {
  const listed = await cli(['clients', 'list', '--env', 'staging', '--json']);
  const all = JSON.parse(listed.stdout) as Record<string, unknown>[];
  expect(all).toHaveLength(1);
  return all[0] as Record<string, unknown>;
}

describe('gatehouse plan / apply: client settings in the file', () => {
  it('plans, applies (no secret for private_key_jwt) and is then in sync; changes are shown', async () => {
    await writeFile(join(workDir, 'clients.json'), file());
    const plan = await cli(['plan', '-f', 'clients.json']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain('+ staging/portal: create');
    expect(plan.stdout).toContain('    tokenEndpointAuthMethod: - -> private_key_jwt');
    expect(plan.stdout).toContain('    jwks: - -> 1 key');
    expect(plan.stdout).toMatch(
      /pkceExemptWithNonce: - -> true .*warning: PKCE no longer required/,
    );
    const apply = await cli(['apply', '-f', 'clients.json']);
    expect(apply.code).toBe(0);
    expect(apply.stdout).not.toContain('client_secret');
    expect(await portal()).toMatchObject({
      managed_by: 'portal',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ kid: 'k1' }] },
      id_token_signed_response_alg: 'ES256',
      require_pushed_authorization_requests: true,
      pkce_exempt_with_nonce: true,
      post_logout_redirect_uris: ['https://portal.staging.example.com/signed-out'],
      backchannel_logout_uri: 'https://portal.staging.example.com/backchannel',
    });
    expect((await cli(['plan', '-f', 'clients.json'])).stdout).toContain('= staging/portal');

    // Back to a secret, without the exception, another post-logout URI: the secret is shown once.
    await writeFile(
      join(workDir, 'clients.json'),
      file(
        { tokenEndpointAuthMethod: 'client_secret_basic', jwks: null, pkceExemptWithNonce: false },
        {
          postLogoutRedirectUris: ['https://portal.staging.example.com/bye'],
          backchannelLogoutUri: null,
        },
      ),
    );
    const update = await cli(['plan', '-f', 'clients.json']);
    expect(update.stdout).toContain(
      '    postLogoutRedirectUris: https://portal.staging.example.com/signed-out -> https://portal.staging.example.com/bye',
    );
    expect(update.stdout).toContain('    jwks: 1 key -> -');
    const applied = await cli(['apply', '-f', 'clients.json']);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/client_secret for staging\/portal .*ghs_/);
    expect(await portal()).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      jwks: null,
      pkce_exempt_with_nonce: false,
      backchannel_logout_uri: null,
    });
  });

  it('refuses bad settings in plan and apply, and writes nothing', async () => {
    await writeFile(
      join(workDir, 'clients.json'),
      file(
        { type: 'native', tokenEndpointAuthMethod: undefined, jwks: undefined },
        {
          redirectUris: ['http://127.0.0.1/callback'],
          postLogoutRedirectUris: ['http://evil.example.com/bye'],
        },
      ),
    );
    const plan = await cli(['plan', '-f', 'clients.json', '--json']);
    const problems = (JSON.parse(plan.stdout) as { problems: { code: string }[] }).problems;
    expect(problems.map((p) => p.code)).toContain('post_logout_redirect_uri_refused');
    const apply = await cli(['apply', '-f', 'clients.json']);
    expect(apply.code).not.toBe(0);
    const listed = await cli(['clients', 'list', '--env', 'staging', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([]);
    await writeFile(join(workDir, 'clients.json'), file({ requirePar: 'yes' }));
    const shape = await cli(['plan', '-f', 'clients.json']);
    expect(shape.code).not.toBe(0);
    expect(shape.stderr).toMatch(/"requirePar" must be a boolean/);
  });
});
