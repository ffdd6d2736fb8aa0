import { ApiError } from "../api/client";
import { describeAll } from "../lib/errors";

interface Props {
  error: unknown;
  labels?: Record<string, string>;
  onRetry?: () => void;
  title?: string;
}

/** An error where it happened: the API's message (naming the field), and a retry when it makes sense. */
export function ErrorBanner({ error, labels, onRetry, title }: Props) {
  if (error === undefined || error === null) return null;
  const status = error instanceof ApiError ? error.status : 0;
  const heading =
    title ??
    (status === 404
      ? "Not found"
      : status === 409
        ? "Conflict"
        : status === 422 || status === 400
          ? "Please check your input"
          : (status === 0 || status === 502) && error instanceof ApiError
            ? "Connection problem"
            : "Something went wrong");
  return (
    <div className="banner banner-error" role="alert">
      <strong>{heading}</strong>
      <span>{describeAll(error, labels)}</span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
