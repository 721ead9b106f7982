import type { LintWarning, ValidationResult } from '../policy';
import { acceptedMessage } from '../policy';

/**
 * What the redirect policy says about the URI being typed: a live region under the field, the
 * suggestion the policy offers, and lint warnings (legal but suspect) styled apart from refusals.
 */
export function PolicyFeedback({
  id,
  result,
  warnings,
  onUseSuggestion,
}: {
  /** For the field's aria-describedby. */
  readonly id: string;
  /** Null while the field is empty. */
  readonly result: ValidationResult | null;
  readonly warnings: readonly LintWarning[];
  readonly onUseSuggestion: (suggestion: string) => void;
}) {
  const state = result === null ? 'empty' : result.ok ? 'ok' : 'refused';
  const suggestion = result !== null && !result.ok ? result.suggestion : undefined;
  return (
    <div className="policy-feedback">
      <div
        id={id}
        role="status"
        aria-live="polite"
        className={`policy-message policy-${state}`}
        data-testid="policy-message"
        data-state={state}
      >
        {result === null ? '' : result.ok ? acceptedMessage(result.kind) : result.message}
      </div>
      {suggestion !== undefined && (
        <Suggestion as="p" suggestion={suggestion} onUse={onUseSuggestion} />
      )}
      <PolicyWarnings warnings={warnings} />
    </div>
  );
}

/** The policy's fix for a refused URI, and a button that applies it. */
export function Suggestion({
  suggestion,
  onUse,
  as: Tag = 'span',
}: {
  readonly suggestion: string;
  readonly onUse: (suggestion: string) => void;
  readonly as?: 'p' | 'span';
}) {
  return (
    <Tag className="policy-suggestion">
      Suggestion: <code data-testid="policy-suggestion">{suggestion}</code>{' '}
      <button
        type="button"
        className="button secondary small"
        onClick={() => {
          onUse(suggestion);
        }}
      >
        Use suggestion
      </button>
    </Tag>
  );
}

/** Lint warnings about URIs being typed. */
export function PolicyWarnings({ warnings }: { readonly warnings: readonly LintWarning[] }) {
  return warnings.map((warning) => (
    <p
      key={`${warning.code} ${warning.uris.join(' ')}`}
      className="policy-warning"
      data-testid="policy-warning"
      data-code={warning.code}
    >
      <span className="policy-warning-label">Warning:</span> {warning.message}
    </p>
  ));
}

/** Lint warnings the server answered with, or about URIs already registered. */
export function LintNotes({
  warnings,
  label = 'Warning:',
  testId,
}: {
  readonly warnings: readonly {
    readonly code: string;
    readonly message: string;
    readonly uris: readonly string[];
  }[];
  readonly label?: string;
  readonly testId?: string;
}) {
  return warnings.map((warning) => (
    <p key={`${warning.code} ${warning.uris.join(' ')}`} className="lint-note" data-testid={testId}>
      <span className="policy-warning-label">{label}</span> {warning.message}
    </p>
  ));
}
