import { useInfiniteQuery } from '@tanstack/react-query';
import { useId, useState, type SubmitEvent } from 'react';
import { readAudit } from '../api/admin';
import { keys, useEnvironments } from '../api/queries';
import type { AuditEntry, AuditQuery, ChainVerification } from '../api/types';
import { ErrorAlert, Loading } from '../components/Feedback';
import { DateTime, DottedName, Missing } from '../components/Values';
import { displayedJson, parseLocalDateTime } from '../format';
import { usePageTitle } from './usePageTitle';

const PAGE_SIZE = 50;

interface Filters {
  readonly environment: string;
  readonly type: string;
  readonly clientId: string;
  readonly userId: string;
  readonly operator: string;
  readonly since: string;
  readonly until: string;
}

const NO_FILTERS: Filters = {
  environment: '',
  type: '',
  clientId: '',
  userId: '',
  operator: '',
  since: '',
  until: '',
};

function toQuery(filters: Filters): AuditQuery {
  const text = (value: string): string | undefined =>
    value.trim() === '' ? undefined : value.trim();
  const query: Record<string, string | number | undefined> = {
    environment: text(filters.environment),
    type: text(filters.type),
    clientId: text(filters.clientId),
    userId: text(filters.userId),
    operator: text(filters.operator),
    since: parseLocalDateTime(filters.since),
    until: parseLocalDateTime(filters.until),
    limit: PAGE_SIZE,
  };
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
}

export function AuditPage() {
  usePageTitle('Audit log');
  const environments = useEnvironments();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const query = toQuery(applied);
  const audit = useInfiniteQuery({
    queryKey: [...keys.audit, query],
    queryFn: ({ pageParam }) =>
      readAudit(pageParam === undefined ? query : { ...query, before: pageParam }),
    initialPageParam: undefined as number | undefined,
    // Older pages start below the oldest entry shown; a short page is the last one.
    getNextPageParam: (page) =>
      page.entries.length < PAGE_SIZE ? undefined : Math.min(...page.entries.map((e) => e.seq)),
  });
  const entries = audit.data?.pages.flatMap((page) => page.entries);
  const verification = audit.data?.pages.at(-1)?.verification;

  return (
    <section className="page">
      <div className="page-heading">
        <h1>Audit log</h1>
      </div>
      {verification !== undefined && <ChainState verification={verification} />}
      <FilterForm
        draft={draft}
        environments={environments.data?.map((e) => e.name) ?? []}
        onChange={setDraft}
        onSubmit={(event) => {
          event.preventDefault();
          // The same filters again: read the log again.
          if (JSON.stringify(toQuery(draft)) === JSON.stringify(query)) void audit.refetch();
          else setApplied({ ...draft });
        }}
        onReset={() => {
          setDraft(NO_FILTERS);
          setApplied(NO_FILTERS);
        }}
      />
      <ErrorAlert error={audit.error} />
      {entries === undefined ? (
        audit.isPending && <Loading what="the audit log" />
      ) : entries.length === 0 ? (
        <p className="muted">No entries match.</p>
      ) : (
        <>
          <AuditTable entries={entries} />
          <div className="actions">
            {audit.hasNextPage ? (
              <button
                type="button"
                className="button secondary"
                disabled={audit.isFetchingNextPage}
                onClick={() => {
                  void audit.fetchNextPage();
                }}
              >
                {audit.isFetchingNextPage ? 'Loading…' : 'Load older'}
              </button>
            ) : (
              <span className="muted">No older entries.</span>
            )}
          </div>
        </>
      )}
    </section>
  );
}

function ChainState({ verification }: { readonly verification: ChainVerification }) {
  return verification.ok ? (
    <p className="chain-state chain-ok" data-testid="chain-state" data-ok="true" role="status">
      Chain verified: {verification.count} entries
    </p>
  ) : (
    <p className="chain-state chain-broken" data-testid="chain-state" data-ok="false" role="alert">
      Chain broken at entry #{verification.seq}: {verification.reason}
    </p>
  );
}

function FilterForm({
  draft,
  environments,
  onChange,
  onSubmit,
  onReset,
}: {
  readonly draft: Filters;
  readonly environments: readonly string[];
  readonly onChange: (filters: Filters) => void;
  readonly onSubmit: (event: SubmitEvent<HTMLFormElement>) => void;
  readonly onReset: () => void;
}) {
  const id = useId();
  const text = (key: Exclude<keyof Filters, 'environment'>, label: string, type = 'text') => (
    <div className="field">
      <label htmlFor={`${id}-${key}`}>{label}</label>
      <input
        id={`${id}-${key}`}
        type={type}
        autoComplete="off"
        value={draft[key]}
        onChange={(event) => {
          onChange({ ...draft, [key]: event.target.value });
        }}
      />
    </div>
  );
  return (
    <form className="form filter-form panel" aria-label="Filter the audit log" onSubmit={onSubmit}>
      <div className="filter-grid">
        <div className="field">
          <label htmlFor={`${id}-environment`}>Environment</label>
          <select
            id={`${id}-environment`}
            value={draft.environment}
            onChange={(event) => {
              onChange({ ...draft, environment: event.target.value });
            }}
          >
            <option value="">All environments</option>
            {environments.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        {text('type', 'Event type')}
        {text('clientId', 'Client ID')}
        {text('userId', 'User ID')}
        {text('operator', 'Operator')}
        {text('since', 'Since', 'datetime-local')}
        {text('until', 'Until', 'datetime-local')}
      </div>
      <div className="actions">
        <button type="submit" className="button primary">
          Apply filters
        </button>
        <button type="button" className="button secondary" onClick={onReset}>
          Reset
        </button>
      </div>
    </form>
  );
}

function AuditTable({ entries }: { readonly entries: readonly AuditEntry[] }) {
  return (
    <div className="table-wrap">
      <table className="audit-table">
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Time</th>
            <th scope="col">Environment</th>
            <th scope="col">Type</th>
            <th scope="col">Actor</th>
            <th scope="col">Client</th>
            <th scope="col">User</th>
            <th scope="col">Data</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.seq} data-testid="audit-entry">
              <td className="numeric">{entry.seq}</td>
              <td className="nowrap">
                <DateTime ms={entry.at} />
              </td>
              <td>{entry.environment ?? <Missing />}</td>
              <td className="audit-type">
                <DottedName name={entry.type} />
              </td>
              <td className="break">{entry.actor}</td>
              <td className="break">{entry.clientId ?? <Missing />}</td>
              <td className="break">{entry.userId ?? <Missing />}</td>
              <td>
                <code className="json">{displayedJson(entry.data)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
