import { useState, type ReactNode } from "react";
import { Modal } from "./Modal";
import { ErrorBanner } from "./ErrorBanner";

interface Props {
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown> | unknown;
  onCancel: () => void;
}

/**
 * Asks before doing something consequential. The confirm button runs
 * onConfirm; while it runs both buttons are disabled; a failure is shown in
 * the dialog (which stays open so the user can retry or cancel).
 */
export function ConfirmDialog({ title, children, confirmLabel, danger, onConfirm, onCancel }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={title}
      onClose={() => !busy && onCancel()}
      initialFocus="[data-autofocus]"
      footer={
        <>
          <button type="button" className="btn" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="button" className={danger ? "btn btn-danger" : "btn btn-primary"} onClick={confirm} disabled={busy} data-autofocus>
            {busy ? "Working…" : confirmLabel}
          </button>
        </>
      }
    >
      {children}
      {error !== undefined && <ErrorBanner error={error} />}
    </Modal>
  );
}
