import type { Check, CheckGroup, DoctorReport } from './types.js';

const GROUPS: readonly [CheckGroup, string][] = [
  ['listener', 'Loopback listener'],
  ['interception', 'Between the browser and this machine'],
  ['server', 'Server'],
];

const MARK: Record<Check['status'], string> = {
  ok: 'ok  ',
  warn: 'WARN',
  fail: 'FAIL',
  skip: '--  ',
};

/** Server text and names end up here: no terminal controls, no bidirectional overrides. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  return text.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, '?');
}

/** The report as plain text a reviewer can attach to an approval. */
export function formatDoctorReport(report: DoctorReport, command = 'gatehouse login'): string {
  const lines: string[] = [
    'Gatehouse login doctor',
    `  generated   ${report.generatedAt} on ${report.platform}, Node ${report.node}`,
    `  redirect    ${report.login.redirectUri}`,
  ];
  if (report.issuer !== null) lines.push(`  issuer      ${printable(report.issuer)}`);
  if (report.clientId !== null) lines.push(`  client_id   ${printable(report.clientId)}`);
  for (const [group, title] of GROUPS) {
    const checks = report.checks.filter((c) => c.group === group);
    if (checks.length === 0) continue;
    lines.push('', title);
    for (const check of checks)
      lines.push(`  ${MARK[check.status]}  ${check.id.padEnd(22)} ${printable(check.summary)}`);
  }
  lines.push('');
  const { verdict } = report;
  if (verdict.loopbackWorks) {
    lines.push(`Verdict: the loopback sign-in (${command}) would work here.`);
  } else {
    lines.push(`Verdict: the loopback sign-in (${command}) would NOT work here:`);
    for (const reason of verdict.reasons) lines.push(`  - ${printable(reason)}`);
    lines.push(
      verdict.fallback === null
        ? 'No fallback would: fix the failures above first.'
        : `Use instead: ${command} ${verdict.fallback}${verdict.fallback === '--device' ? ' (approve on any other device)' : ' (paste mode: open the URL on any device, paste the final address back)'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
