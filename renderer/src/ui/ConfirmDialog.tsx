import { useEffect, useId, useRef, type ReactNode } from 'react';
import { Icon } from './Icon.js';

/**
 * The one way the window asks before doing something: a modal dialog that says what will happen (and whether
 * it can be undone), with the action named on its button and Cancel beside it. Every "are you sure" in Relink is
 * this component — never the browser's `confirm()`, which cannot say what an action does or be styled, read
 * properly by a screen reader, or tested.
 *
 * Built on the native `<dialog>` opened with `showModal()`: the rest of the window becomes inert and the
 * dialog is announced as modal. On top of that, Tab and Shift+Tab cycle inside it (the focus trap), Escape
 * cancels (unless the action is running), focus starts on the first field, or on Cancel when there is none (so
 * Enter never confirms an irreversible step by accident), and returns to whatever was focused before.
 */
export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  /** What will happen, in plain words: what changes, whether it can be undone. */
  children: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  /** `danger` for what cannot be undone (a disconnect in Xero): the confirm button says so in colour too. */
  tone?: 'default' | 'danger';
  /** The action is running: both buttons wait and Escape does nothing. */
  busy?: boolean;
  /** Why the action failed (shown in the dialog; it stays open). */
  error?: string | null;
  /** A required field is still empty: confirming is refused, and the button says why through `confirmHint`. */
  confirmDisabled?: boolean;
  confirmHint?: string;
  onConfirm: () => void;
  onCancel: () => void;
}

const FOCUSABLE = 'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  cancelLabel = 'Cancel',
  tone = 'default',
  busy = false,
  error = null,
  confirmDisabled = false,
  confirmHint,
  onConfirm,
  onCancel,
}: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const returnTo = useRef<HTMLElement | null>(null);
  const titleId = useId();
  const bodyId = useId();
  const hintId = useId();
  const busyRef = useRef(busy);
  busyRef.current = busy;
  const cancelRefFn = useRef(onCancel);
  cancelRefFn.current = onCancel;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      returnTo.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      dialog.showModal();
      const field = dialog.querySelector<HTMLElement>('.confirm-dialog-body input, .confirm-dialog-body select, .confirm-dialog-body textarea');
      (field ?? cancelRef.current)?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
      // Back where the advisor was, if that element is still on the page.
      if (returnTo.current?.isConnected) returnTo.current.focus();
      returnTo.current = null;
    }
  }, [open]);

  // Closing the component while open (the view went away) must not leave the window inert.
  useEffect(() => () => ref.current?.close(), []);

  return (
    <dialog
      ref={ref}
      className={`confirm-dialog tone-${tone}`}
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      onCancel={(e) => {
        // Escape: the browser would close the dialog on its own; the state decides instead.
        e.preventDefault();
        if (!busyRef.current) cancelRefFn.current();
      }}
      onKeyDown={(e) => {
        if (e.key !== 'Tab') return;
        const items = [...(ref.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])].filter((el) => el.offsetParent !== null || el === document.activeElement);
        if (items.length === 0) return;
        const first = items[0]!;
        const last = items.at(-1)!;
        if (e.shiftKey && document.activeElement === first) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault();
          first.focus();
        }
      }}
    >
      {open && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            if (!busy && !confirmDisabled) onConfirm();
          }}
        >
          <h2 id={titleId} className="confirm-dialog-title">
            {tone === 'danger' && <Icon name="alert" />}
            {title}
          </h2>
          <div id={bodyId} className="confirm-dialog-body">
            {children}
          </div>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <div className="confirm-dialog-actions">
            <button type="button" ref={cancelRef} className="button" aria-disabled={busy} onClick={() => !busy && onCancel()}>
              {cancelLabel}
            </button>
            <button
              type="submit"
              className={`button ${tone === 'danger' ? 'danger' : 'primary'}`}
              aria-disabled={busy || confirmDisabled}
              aria-describedby={confirmDisabled && confirmHint ? hintId : undefined}
            >
              {busy && <Icon name="spinner" className="spin" />}
              {confirmLabel}
            </button>
          </div>
          {confirmDisabled && confirmHint && (
            <p id={hintId} className="field-help confirm-dialog-hint">
              {confirmHint}
            </p>
          )}
        </form>
      )}
    </dialog>
  );
}
