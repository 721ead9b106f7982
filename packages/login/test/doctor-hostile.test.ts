/**
 * The doctor's server checks against a hostile server (a small fake on loopback): an error page
 * that never ends, one that stops half way and never finishes, an answer that tries to make the
 * probe go elsewhere. The doctor must finish with a report, read a bounded amount, follow nothing
 * and never complete a sign-in.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runDoctor, type Check, type DoctorReport } from '../src/index.js';
import { codeFlowMetadata, listenAsIssuer } from './support/issuer.js';

const DESKTOP = { DISPLAY: ':0' };

function check(report: DoctorReport, id: string): Check {
  const found = report.checks.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id} in ${JSON.stringify(report.checks)}`);
  return found;
}

describe('the login doctor against a hostile server', () => {
  let server: Server;
  let issuer: string;
  /** What /authorize does; the metadata points at this server. */
  let authorize: (request: IncomingMessage, response: ServerResponse) => void;
  /** Requests seen, by path. */
  let seen: string[];
  /** Replaces the metadata document's answer where set. */
  let discovery: ((response: ServerResponse) => void) | undefined;
  /** Where set, the metadata requires pushed requests and /par answers with this. */
  let par: ((response: ServerResponse) => void) | undefined;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', issuer);
      seen.push(url.pathname);
      if (url.pathname.startsWith('/.well-known/') && discovery !== undefined) discovery(response);
      else if (url.pathname === '/.well-known/openid-configuration') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            ...codeFlowMetadata(issuer),
            ...(par === undefined
              ? {}
              : {
                  pushed_authorization_request_endpoint: `${issuer}/par`,
                  require_pushed_authorization_requests: true,
                }),
          }),
        );
      } else if (url.pathname === '/par' && par !== undefined) {
        request.resume();
        par(response);
      } else if (url.pathname === '/authorize') authorize(request, response);
      else response.writeHead(404).end();
    });
    issuer = await listenAsIssuer(server);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen = [];
    discovery = undefined;
    par = undefined;
  });

  /** Answers with JSON-looking text, as fast as it is read, until the reader hangs up. */
  function endless(status: number, counter: { sent: number; gone: Promise<void> }) {
    let closed!: () => void;
    counter.gone = new Promise<void>((resolve) => (closed = resolve));
    return (response: ServerResponse) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      const chunk = `{"pad":"${'x'.repeat(64 * 1024)}",`;
      response.write('{"a":');
      const pump = () => {
        while (!response.destroyed) {
          counter.sent += chunk.length;
          if (!response.write(chunk)) break;
        }
        if (!response.destroyed) response.once('drain', pump);
      };
      response.on('close', () => {
        closed();
      });
      pump();
    };
  }

  const doctor = (signal?: AbortSignal) =>
    runDoctor({
      env: DESKTOP,
      platform: 'linux',
      issuer,
      clientId: 'cli',
      allowHttpLoopbackIssuer: true,
      ...(signal === undefined ? {} : { signal }),
    });

  it('reads a bounded part of an error page that never ends, and still reports', async () => {
    let sent = 0;
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => (closed = resolve));
    authorize = (_request, response) => {
      response.writeHead(400, { 'content-type': 'text/html' });
      const chunk = `<p>${'x'.repeat(64 * 1024)}</p>`;
      const pump = () => {
        // Written as fast as the doctor reads, until it hangs up (counted as handed to the socket).
        while (!response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) break;
        }
        if (!response.destroyed) response.once('drain', pump);
      };
      response.on('close', () => {
        closed();
      });
      pump();
    };
    const report = await doctor();
    await gone;
    const registration = check(report, 'client.redirect_uri');
    expect(registration.status).toBe('fail');
    expect(registration.data).toMatchObject({ accepted: false, status: 400 });
    // A page is a few kilobytes; what was read (and what socket buffers took) stays small.
    expect(sent).toBeLessThan(8 * 1024 * 1024);
  });

  it('an error page that stops half way ends in a report, not an exception', async () => {
    const controller = new AbortController();
    authorize = (_request, response) => {
      response.writeHead(400, { 'content-type': 'text/html' });
      response.write('<h1>refused');
      // ... and nothing more: the doctor gives up (here: the caller's signal, as Ctrl-C would),
      // once the head has had time to arrive, so that it is the body that is cut short.
      setTimeout(() => {
        controller.abort(new Error('stopped by the test'));
      }, 300);
    };
    const report = await doctor(controller.signal);
    const registration = check(report, 'client.redirect_uri');
    expect(registration.status).toBe('warn');
    expect(registration.summary).toContain('could not be checked');
  });

  it('reads a bounded part of a metadata document that never ends, and says discovery failed', async () => {
    const counter = { sent: 0, gone: Promise.resolve() };
    discovery = endless(200, counter);
    const report = await doctor();
    await counter.gone;
    expect(check(report, 'server.discovery')).toMatchObject({
      status: 'fail',
      data: { code: 'discovery_failed' },
    });
    expect(counter.sent).toBeLessThan(8 * 1024 * 1024);
  });

  it('reads a bounded part of an endless answer to the push, where pushes are required', async () => {
    const counter = { sent: 0, gone: Promise.resolve() };
    par = endless(400, counter);
    const report = await doctor();
    await counter.gone;
    expect(check(report, 'client.redirect_uri')).toMatchObject({ status: 'warn' });
    expect(check(report, 'client.redirect_uri').summary).toContain('larger than');
    expect(counter.sent).toBeLessThan(8 * 1024 * 1024);
  });

  it('follows no redirect: a 302 elsewhere is read as the server taking the request, never fetched', async () => {
    authorize = (_request, response) => {
      response.writeHead(302, { location: 'http://192.0.2.1/steal?code=abc' }).end();
    };
    const report = await doctor();
    expect(check(report, 'client.redirect_uri')).toMatchObject({
      status: 'ok',
      data: { accepted: true, status: 302 },
    });
    expect(seen).toEqual(['/.well-known/openid-configuration', '/authorize']);
  });
});
