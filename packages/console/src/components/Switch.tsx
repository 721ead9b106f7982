/** An on/off switch (a button with role="switch"); `label` is its accessible name. */
export function Switch({
  checked,
  label,
  onChange,
  disabled,
  describedBy,
}: {
  readonly checked: boolean;
  readonly label: string;
  readonly onChange: (checked: boolean) => void;
  readonly disabled?: boolean;
  /** The id of a hint that explains the setting. */
  readonly describedBy?: string;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      aria-describedby={describedBy}
      className="switch"
      disabled={disabled}
      onClick={() => {
        onChange(!checked);
      }}
    >
      <span className="switch-track" aria-hidden="true">
        <span className="switch-thumb" />
      </span>
      <span className="switch-text">{checked ? 'On' : 'Off'}</span>
    </button>
  );
}
