import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

interface ConfirmButtonProps {
  /** The button's text. */
  readonly children: ReactNode;
  readonly title: string;
  readonly message: ReactNode;
  /** The confirming button's text in the dialog, e.g. "Delete client". */
  readonly confirmLabel: string;
  readonly onConfirm: () => void;
  readonly className?: string;
  readonly disabled?: boolean;
  readonly 'aria-label'?: string;
  readonly 'data-testid'?: string;
}

/** A button that asks first, in a modal dialog, before `onConfirm` runs. */
export function ConfirmButton({
  children,
  title,
  message,
  confirmLabel,
  onConfirm,
  className = 'button danger',
  disabled,
  'aria-label': ariaLabel,
  'data-testid': testId,
}: ConfirmButtonProps) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className={className}
        disabled={disabled}
        aria-label={ariaLabel}
        aria-haspopup="dialog"
        data-testid={testId}
        onClick={() => {
          setOpen(true);
        }}
      >
        {children}
      </button>
      {open && (
        <ConfirmDialog
          title={title}
          message={message}
          confirmLabel={confirmLabel}
          onClose={(confirmed) => {
            setOpen(false);
            if (confirmed) onConfirm();
          }}
        />
      )}
    </>
  );
}

function ConfirmDialog({
  title,
  message,
  confirmLabel,
  onClose,
}: {
  readonly title: string;
  readonly message: ReactNode;
  readonly confirmLabel: string;
  readonly onClose: (confirmed: boolean) => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const messageId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (dialog !== null && !dialog.open) dialog.showModal();
  }, []);

  const close = (confirmed: boolean): void => {
    ref.current?.close();
    onClose(confirmed);
  };

  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={messageId}
      data-testid="confirm-dialog"
      onCancel={(event) => {
        event.preventDefault();
        close(false);
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div id={messageId}>{message}</div>
      <div className="actions">
        <button
          type="button"
          className="button secondary"
          autoFocus
          onClick={() => {
            close(false);
          }}
        >
          Cancel
        </button>
        <button
          type="button"
          className="button danger"
          data-testid="confirm-dialog-confirm"
          onClick={() => {
            close(true);
          }}
        >
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
