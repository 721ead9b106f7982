import { useId, type ReactNode } from 'react';
import { GRANT_TYPES, type GrantType } from '../api/types';

/** A checkbox per grant type, with a hint on how the server treats the choice. */
export function GrantTypesField({
  legend,
  hint,
  value,
  onChange,
}: {
  readonly legend: string;
  readonly hint: ReactNode;
  readonly value: readonly GrantType[];
  readonly onChange: (value: readonly GrantType[]) => void;
}) {
  const hintId = useId();
  return (
    <fieldset className="field">
      <legend>{legend}</legend>
      <p className="hint" id={hintId}>
        {hint}
      </p>
      <div className="checkbox-list">
        {GRANT_TYPES.map((grant) => (
          <label key={grant} className="checkbox">
            <input
              type="checkbox"
              checked={value.includes(grant)}
              aria-describedby={hintId}
              onChange={(event) => {
                onChange(
                  event.target.checked ? [...value, grant] : value.filter((g) => g !== grant),
                );
              }}
            />
            <code>{grant}</code>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
