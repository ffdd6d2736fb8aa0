/** An experiment's status: draft, running or stopped. */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`status status-${status}`}>{status}</span>;
}
