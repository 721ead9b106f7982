import { useState } from 'react';
import { Link } from 'react-router';
import {
  fetchReportFile,
  useRedirectReport,
  type InventoryClient,
  type InventoryEntry,
  type ReportFlag,
  type ReportFormat,
  type ReportWindow,
} from '../api/redirect-report';
import { Badge, KindBadge, TierBadge } from '../components/Badges';
import { ErrorAlert, Loading, Table } from '../components/Feedback';
import { CheckboxField, SelectField, TextField } from '../components/Form';
import { formatDateTime, formatRelative } from '../format';
import { useNow } from '../hooks';
import { Breadcrumb } from '../components/Breadcrumb';
import { paths } from '../paths';
import { usePageTitle } from './usePageTitle';

const FLAG_TITLES: Record<ReportFlag['code'], string> = {
  unused: 'Unused',
  localhost_loopback: 'Loopback "localhost"',
  wildcard: 'Wildcard',
  http_not_loopback: 'http, not loopback',
  loopback_for_web_client: 'Loopback for a web client',
  violates_policy: "Violates today's policy",
  expiring_soon: 'Expiring soon',
  promotion_drift: 'Promotion drift',
};

/** The refusals by today's policy and plain http are the most urgent. */
const URGENT: readonly ReportFlag['code'][] = ['violates_policy', 'http_not_loopback'];

const FORMATS: readonly { readonly value: ReportFormat; readonly label: string }[] = [
  { value: 'csv', label: 'CSV' },
  { value: 'md', label: 'Markdown' },
  { value: 'json', label: 'JSON' },
];

const CHANNELS: Record<string, string> = {
  console: 'console',
  cli: 'CLI',
  declarative: 'declarative file',
  dynamic: 'dynamic registration',
  metadata_document: 'metadata document',
  promotion: 'promotion',
  system: 'system',
  unknown: 'unknown',
};

const DAYS_HINT = 'A whole number of days from 0 to 3650; until then the default applies.';

/** A whole number of days 0..3650, or undefined (the server's default) when empty or not one. */
function days(text: string): number | undefined {
  return /^\d{1,4}$/.test(text.trim()) && Number(text) <= 3650 ? Number(text) : undefined;
}

/** Saves a file through the browser's download, as a link to it would. */
function save(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 10_000);
}

/**
 * The redirect inventory of one environment, for a security review (issue #18): every client's
 * registered redirect and post-logout URIs, how and when they were registered, their use, and the
 * flags a reviewer should look at; exported as CSV, Markdown or JSON to attach to an approval.
 */
export function RedirectInventoryPage({ env }: { readonly env: string }) {
  usePageTitle(`Redirect inventory · ${env}`);
  const [unusedText, setUnusedText] = useState('');
  const [expiringText, setExpiringText] = useState('');
  const [onlyFlagged, setOnlyFlagged] = useState(false);
  const [format, setFormat] = useState<ReportFormat>('csv');
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);
  const unusedDays = days(unusedText);
  const expiringDays = days(expiringText);
  const reviewWindow: ReportWindow = {
    ...(unusedDays === undefined ? {} : { unusedDays }),
    ...(expiringDays === undefined ? {} : { expiringDays }),
  };
  const report = useRedirectReport(env, reviewWindow);

  const exportReport = async () => {
    setExporting(true);
    setExportError(null);
    try {
      const file = await fetchReportFile(env, format, reviewWindow);
      save(file.name, file.blob);
    } catch (error) {
      setExportError(error);
    } finally {
      setExporting(false);
    }
  };

  return (
    <div className="page">
      <Breadcrumb env={env} />
      <div className="page-heading">
        <h1>Redirect inventory</h1>
        {report.data !== undefined && <TierBadge tier={report.data.tier} />}
      </div>
      <p className="hint">
        Every registered redirect and post-logout URI of the clients in <code>{env}</code>: how and
        when it was registered, when it was last used, and what a reviewer should look at.
      </p>

      <section className="panel" aria-labelledby="inventory-options-heading">
        <h2 id="inventory-options-heading">Review window and export</h2>
        <div className="inventory-options">
          <TextField
            label="Unused for (days)"
            inputMode="numeric"
            placeholder={String(report.data?.unusedDays ?? 90)}
            value={unusedText}
            onChange={setUnusedText}
            {...(unusedText !== '' && unusedDays === undefined ? { hint: DAYS_HINT } : {})}
          />
          <TextField
            label="Expiring within (days)"
            inputMode="numeric"
            placeholder={String(report.data?.expiringDays ?? 14)}
            value={expiringText}
            onChange={setExpiringText}
            {...(expiringText !== '' && expiringDays === undefined ? { hint: DAYS_HINT } : {})}
          />
          <CheckboxField
            label="Only flagged URIs"
            checked={onlyFlagged}
            onChange={setOnlyFlagged}
          />
          <SelectField
            label="Export format"
            value={format}
            options={FORMATS}
            onChange={setFormat}
          />
          <button
            type="button"
            className="button primary"
            disabled={exporting}
            onClick={() => void exportReport()}
          >
            {exporting ? 'Exporting…' : 'Export'}
          </button>
        </div>
        <ErrorAlert error={exportError} />
      </section>

      <ErrorAlert error={report.error} />
      {report.data === undefined ? (
        report.isPending && <Loading what="the redirect inventory" />
      ) : (
        <>
          <section className="panel" aria-labelledby="inventory-summary-heading">
            <h2 id="inventory-summary-heading">Summary</h2>
            <p data-testid="inventory-summary">
              {report.data.summary.clients} clients, {report.data.summary.redirectUris} redirect
              URIs, {report.data.summary.postLogoutUris} post-logout URIs. Loopback hosts allowed:{' '}
              {report.data.loopbackHosts.join(', ')}.
            </p>
            <ul className="flag-counts">
              {Object.entries(report.data.summary.flags).map(([code, count]) => (
                <li key={code} data-testid="flag-count" data-flag={code}>
                  <Badge
                    tone={
                      count === 0
                        ? 'neutral'
                        : URGENT.includes(code as ReportFlag['code'])
                          ? 'danger'
                          : 'warn'
                    }
                  >
                    {FLAG_TITLES[code as ReportFlag['code']]}: {count}
                  </Badge>
                </li>
              ))}
            </ul>
          </section>
          {report.data.clients
            .filter((client) => !onlyFlagged || isFlagged(client))
            .map((client) => (
              <ClientInventory
                key={client.clientId}
                env={env}
                client={client}
                onlyFlagged={onlyFlagged}
              />
            ))}
        </>
      )}
    </div>
  );
}

function isFlagged(client: InventoryClient): boolean {
  return client.flags.length > 0 || client.entries.some((entry) => entry.flags.length > 0);
}

function ClientInventory({
  env,
  client,
  onlyFlagged,
}: {
  readonly env: string;
  readonly client: InventoryClient;
  readonly onlyFlagged: boolean;
}) {
  const headingId = `inventory-${client.clientId}`;
  const entries = client.entries.filter((entry) => !onlyFlagged || entry.flags.length > 0);
  return (
    <section
      className="panel"
      aria-labelledby={headingId}
      data-testid="inventory-client"
      data-client-id={client.clientId}
    >
      <h2 id={headingId}>
        <Link to={paths.client(env, client.clientId)}>{client.name}</Link>{' '}
        <KindBadge kind={client.kind} />
      </h2>
      <p className="muted">
        <code>{client.clientId}</code> · {client.type} client
        {client.managedBy !== null && <> · managed by the declarative file ({client.managedBy})</>}
        {client.promotedFrom !== null && <> · promoted from {client.promotedFrom}</>}
      </p>
      {client.flags.length > 0 && <FlagList flags={client.flags} />}
      {client.otherRefusals > 0 && (
        <p className="muted">
          {client.otherRefusals} refused {client.otherRefusals === 1 ? 'request' : 'requests'} close
          to none of these URIs.
        </p>
      )}
      {entries.length === 0 ? (
        <p className="muted">No registered URIs{onlyFlagged ? ' flagged' : ''}.</p>
      ) : (
        <Table
          columns={[
            'URI',
            'Class',
            'Registered',
            'Last used',
            'Uses',
            'Requests',
            'Near misses',
            'Flags',
          ]}
        >
          {entries.map((entry) => (
            <EntryRow key={`${entry.kind} ${entry.uri}`} entry={entry} />
          ))}
        </Table>
      )}
    </section>
  );
}

function EntryRow({ entry }: { readonly entry: InventoryEntry }) {
  const now = useNow();
  return (
    <tr data-testid="inventory-row" data-uri={entry.uri}>
      <td>
        <code>{entry.uri}</code>
        {entry.kind === 'post_logout' && (
          <>
            {' '}
            <Badge tone="info">post-logout</Badge>
          </>
        )}
      </td>
      <td>
        {entry.loopbackHost === null ? entry.class : `loopback ${entry.loopbackHost}`}
        {entry.expiresAt !== null && (
          <div className="muted" title={formatDateTime(entry.expiresAt)}>
            expires {formatRelative(entry.expiresAt, now)}
          </div>
        )}
      </td>
      <td>
        {CHANNELS[entry.channel] ?? entry.channel}
        {entry.registeredByLabel !== null && <div className="muted">{entry.registeredByLabel}</div>}
        {entry.registeredAt !== null && (
          <div className="muted" title={formatDateTime(entry.registeredAt)}>
            {formatRelative(entry.registeredAt, now)}
          </div>
        )}
      </td>
      <td>
        {entry.lastUsedAt === null ? (
          <span className="muted">never</span>
        ) : (
          <span title={formatDateTime(entry.lastUsedAt)}>
            {formatRelative(entry.lastUsedAt, now)}
          </span>
        )}
      </td>
      <td className="numeric">{entry.uses}</td>
      <td className="numeric">{entry.requests}</td>
      <td className="numeric">{entry.nearMisses}</td>
      <td>
        {entry.flags.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          <FlagList flags={entry.flags} />
        )}
      </td>
    </tr>
  );
}

function FlagList({ flags }: { readonly flags: readonly ReportFlag[] }) {
  return (
    <ul className="flag-list">
      {flags.map((flag, i) => (
        <li key={`${flag.code} ${i}`} data-testid="inventory-flag" data-flag={flag.code}>
          <Badge tone={URGENT.includes(flag.code) ? 'danger' : 'warn'}>
            {FLAG_TITLES[flag.code]}
          </Badge>{' '}
          <span className="flag-reason">{flag.reason}</span>
        </li>
      ))}
    </ul>
  );
}
