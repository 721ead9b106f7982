import { useId, useRef, useState } from 'react';

/**
 * A secret the server will never show again (a client secret, an initial access token): a marked
 * box, the secret in monospace and a copy button.
 */
export function SecretOnce({
  secret,
  title = 'Client secret',
  valueTestId = 'client-secret',
}: {
  readonly secret: string;
  readonly title?: string;
  /** data-testid of the element holding the secret. */
  readonly valueTestId?: string;
}) {
  const headingId = useId();
  const codeRef = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<'yes' | 'select' | null>(null);

  const selectSecret = (): void => {
    const code = codeRef.current;
    const selection = window.getSelection();
    if (code === null || selection === null) return;
    const range = document.createRange();
    range.selectNodeContents(code);
    selection.removeAllRanges();
    selection.addRange(range);
  };

  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      selectSecret();
      setCopied('select');
    }
  };

  return (
    <section className="secret-once" aria-labelledby={headingId} data-testid="secret-once">
      <h3 id={headingId}>{title}: shown once; store it now</h3>
      <p>Gatehouse keeps only a hash of it and cannot show it again.</p>
      <div className="secret-row">
        <code ref={codeRef} className="secret" data-testid={valueTestId}>
          {secret}
        </code>
        <button
          type="button"
          className="button secondary"
          onClick={() => {
            void copy();
          }}
        >
          Copy
        </button>
      </div>
      <p className="hint" role="status">
        {copied === 'yes'
          ? 'Copied to the clipboard.'
          : copied === 'select'
            ? 'The clipboard is not available here: the secret is selected, press Ctrl+C (⌘C).'
            : ''}
      </p>
    </section>
  );
}
