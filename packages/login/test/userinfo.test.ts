/**
 * The email from UserInfo where the ID token lacks it, and only for the person who signed in
 * (OIDC Core §5.3.4). A local server plays the UserInfo endpoint.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthorizationServer } from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredTokens } from '../src/index.js';
import { withUserInfoEmail } from '../src/userinfo.js';

describe('the email from UserInfo', () => {
  let server: Server;
  let as: AuthorizationServer;
  /** What the endpoint answers for each access token. */
  const answers = new Map<string, { status: number; body: unknown }>();
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
      seen.push(token);
      const answer = answers.get(token) ?? { status: 401, body: { error: 'invalid_token' } };
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    as = { issuer, userinfo_endpoint: `${issuer}/userinfo` };
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const tokens = (accessToken: string, extra: Partial<StoredTokens> = {}): StoredTokens => ({
    issuer: as.issuer,
    clientId: 'cli',
    accessToken,
    tokenType: 'Bearer',
    expiresAt: 0,
    subject: 'olive',
    scope: 'openid email',
    ...extra,
  });
  const http = { allowHttpLoopbackIssuer: true };

  it('takes the email when UserInfo names the same subject', async () => {
    answers.set('good', { status: 200, body: { sub: 'olive', email: 'olive@example.com' } });
    expect(await withUserInfoEmail(as, tokens('good'), http)).toMatchObject({
      subject: 'olive',
      email: 'olive@example.com',
    });
  });

  it('refuses an answer about somebody else (token substitution)', async () => {
    answers.set('swapped', {
      status: 200,
      body: { sub: 'mallory', email: 'mallory@evil.example' },
    });
    const result = await withUserInfoEmail(as, tokens('swapped'), http);
    expect(result).not.toHaveProperty('email');
    expect(result.subject).toBe('olive');
  });

  it('keeps the tokens as they are when UserInfo refuses or has no email', async () => {
    answers.set('no-email', { status: 200, body: { sub: 'olive' } });
    expect(await withUserInfoEmail(as, tokens('no-email'), http)).not.toHaveProperty('email');
    expect(await withUserInfoEmail(as, tokens('unknown'), http)).not.toHaveProperty('email');
  });

  it('does not ask when it has the email, no subject to compare, no openid scope or no bearer token', async () => {
    seen.length = 0;
    await withUserInfoEmail(as, tokens('a', { email: 'kept@example.com' }), http);
    await withUserInfoEmail(
      as,
      Object.fromEntries(
        Object.entries(tokens('b')).filter(([key]) => key !== 'subject'),
      ) as unknown as StoredTokens,
      http,
    );
    await withUserInfoEmail(as, tokens('c', { scope: 'email' }), http);
    await withUserInfoEmail(as, tokens('d', { tokenType: 'DPoP' }), http);
    await withUserInfoEmail({ issuer: as.issuer }, tokens('e'), http);
    expect(seen).toEqual([]);
  });
});
