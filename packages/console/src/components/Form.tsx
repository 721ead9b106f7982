/**
 * The one form pattern: an `ActionForm` runs an action (`useAction`) on submit, shows the server's
 * message when it fails and a busy label while it runs; fields are a label and a control.
 */
import {
  useId,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
  type SubmitEvent,
} from 'react';
import { ErrorAlert } from './Feedback';

/** What ActionForm needs of a `useAction` result. */
export interface Pending {
  readonly isPending: boolean;
  readonly error: unknown;
  /** Run on submit when the form has no `onSubmit` of its own. */
  readonly mutate?: (variables: undefined) => void;
}

export function ActionForm({
  action,
  onSubmit,
  submitLabel,
  busyLabel,
  canSubmit = true,
  className = 'form',
  buttonClassName = 'button primary',
  extraActions,
  submitTestId,
  children,
  ...rest
}: {
  readonly action: Pending;
  /**
   * Called on submit (not while the action runs, nor when `canSubmit` is false); by default the
   * action runs.
   */
  readonly onSubmit?: () => void;
  readonly submitLabel: string;
  /** The button's text while the action runs, e.g. "Creating…". */
  readonly busyLabel?: string;
  readonly canSubmit?: boolean;
  readonly className?: string;
  readonly buttonClassName?: string;
  /** Next to the submit button: a cancel button, a hint. */
  readonly extraActions?: ReactNode;
  readonly submitTestId?: string;
  readonly children: ReactNode;
  readonly 'aria-label'?: string;
  readonly 'aria-labelledby'?: string;
  readonly 'aria-describedby'?: string;
  readonly 'data-testid'?: string;
}) {
  const submit = (event: SubmitEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (action.isPending || !canSubmit) return;
    if (onSubmit === undefined) action.mutate?.(undefined);
    else onSubmit();
  };
  return (
    <form className={className === '' ? undefined : className} onSubmit={submit} {...rest}>
      {children}
      <ErrorAlert error={action.error} />
      <div className="actions">
        <button
          type="submit"
          className={buttonClassName}
          disabled={action.isPending || !canSubmit}
          aria-busy={action.isPending}
          data-testid={submitTestId}
        >
          {action.isPending ? (busyLabel ?? submitLabel) : submitLabel}
        </button>
        {extraActions}
      </div>
    </form>
  );
}

/** For URIs and other exact text: monospace, no autocorrection. */
export const URI_INPUT = {
  className: 'mono',
  type: 'text',
  inputMode: 'url',
  autoCapitalize: 'off',
  autoCorrect: 'off',
  spellCheck: false,
} as const;

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onChange'>;

/** A labelled text input (email, password, number, datetime-local…), with an optional hint. */
export function TextField({
  label,
  value,
  onChange,
  hint,
  fieldClassName = 'field',
  ...input
}: InputProps & {
  readonly label: ReactNode;
  readonly value: string;
  readonly onChange: (value: string) => void;
  readonly hint?: ReactNode;
  /** The class of the label and input's wrapper; `className` is the input's. */
  readonly fieldClassName?: string;
}) {
  const id = useId();
  return (
    <div className={fieldClassName}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        autoComplete="off"
        {...input}
        value={value}
        aria-describedby={hint === undefined ? input['aria-describedby'] : `${id}-hint`}
        onChange={(event) => {
          onChange(event.target.value);
        }}
      />
      {hint !== undefined && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

export interface Option<T extends string> {
  readonly value: T;
  readonly label: string;
}

/** A new account's password (an operator's, a user's). */
export function NewPasswordField({
  value,
  onChange,
}: {
  readonly value: string;
  readonly onChange: (value: string) => void;
}) {
  return (
    <TextField
      label="Password"
      type="password"
      required
      autoComplete="new-password"
      value={value}
      onChange={onChange}
    />
  );
}

/** A labelled select of fixed options. */
export function SelectField<T extends string>({
  label,
  value,
  options,
  onChange,
  className = 'field',
  ...select
}: Omit<SelectHTMLAttributes<HTMLSelectElement>, 'id' | 'value' | 'onChange'> & {
  readonly label: ReactNode;
  readonly value: T;
  readonly options: readonly Option<T>[];
  readonly onChange: (value: T) => void;
}) {
  const id = useId();
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        {...select}
        value={value}
        onChange={(event) => {
          onChange(event.target.value as T);
        }}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A checkbox with its label after it. */
export function CheckboxField({
  label,
  checked,
  onChange,
}: {
  readonly label: ReactNode;
  readonly checked: boolean;
  readonly onChange: (checked: boolean) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label className="checkbox" htmlFor={id}>
        <input
          id={id}
          type="checkbox"
          checked={checked}
          onChange={(event) => {
            onChange(event.target.checked);
          }}
        />
        {label}
      </label>
    </div>
  );
}
