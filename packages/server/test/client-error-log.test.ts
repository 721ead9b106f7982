/**
 * Review of issue #14: a request Node's HTTP parser refuses is logged by Fastify's own handler
 * with the raw bytes received, every header before the fault included, at trace level. Gatehouse
 * logs only the error's code, at every level.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const SECRET = 'ghs_development_never-in-a-log';

/** Sends raw bytes and reads the whole answer. */
function rawRequest(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => {
      resolve(answer);
    });
    // The server closes as soon as it has answered; the rest of a large upload is then reset.
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ECONNRESET') resolve(answer);
      else reject(error);
    });
  });
}

describe('requests the HTTP parser refuses', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  const log: string[] = [];
  const level = process.env.GATEHOUSE_LOG_LEVEL;

  beforeAll(async () => {
    process.env.GATEHOUSE_LOG_LEVEL = 'trace';
    db = await throwawaySqlite();
    t = await startTestServer(db, { logStream: { write: (line) => void log.push(line) } });
  });
  afterAll(async () => {
    if (level === undefined) delete process.env.GATEHOUSE_LOG_LEVEL;
    else process.env.GATEHOUSE_LOG_LEVEL = level;
    await t.close();
    await db.drop();
  });

  it('are answered 400 or 431 and logged without the bytes received, even at trace level', async () => {
    const malformed = await rawRequest(
      t.url,
      `POST /e/development/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${SECRET}\r\n` +
        `Cookie: gh_session=${SECRET}\r\nthis is not a header\r\n\r\n`,
    );
    expect(malformed.startsWith('HTTP/1.1 400 ')).toBe(true);
    const oversized = await rawRequest(
      t.url,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SECRET}\r\n` +
        `X-Padding: ${'a'.repeat(70_000)}\r\n\r\n`,
    );
    expect(oversized.startsWith('HTTP/1.1 431 ')).toBe(true);
    const text = log.join('');
    // The refusals were logged (trace is on)…
    expect(text).toContain('client error');
    // …and nothing of what the sender sent: not as text, nor as the byte list a logged Buffer
    // becomes (Fastify's handler logged `rawPacket` so).
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(Array.from(Buffer.from(SECRET)).join(','));
    expect(text).not.toContain('rawPacket');
    expect(text).not.toContain('this is not a header');
  });
});
