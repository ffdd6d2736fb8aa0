import { cloneElement, isValidElement, useId, type ReactElement, type ReactNode } from "react";

interface Props {
  label: ReactNode;
  /** The API field path this control edits (matched against error.field; also used to focus it). */
  field?: string;
  error?: string;
  hint?: ReactNode;
  children: ReactElement<Record<string, unknown>>;
  className?: string;
  /** Render the label visually hidden (it stays for screen readers). */
  hideLabel?: boolean;
}

/** A labelled form control with its hint and, when the API rejected it, the error message. */
export function Field({ label, field, error, hint, children, className, hideLabel }: Props) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errId = `${id}-error`;
  const describedBy = [hint ? hintId : "", error ? errId : ""].filter(Boolean).join(" ") || undefined;
  const control = isValidElement(children)
    ? cloneElement(children, {
        id: (children.props.id as string | undefined) ?? id,
        "aria-invalid": error ? true : undefined,
        "aria-describedby": describedBy,
        "data-field": field,
      })
    : children;
  const controlId = (isValidElement(children) && (children.props.id as string | undefined)) || id;
  return (
    <div className={["field", error ? "field-invalid" : "", className ?? ""].join(" ").trim()}>
      <label htmlFor={controlId} className={hideLabel ? "sr-only" : "field-label"}>
        {label}
      </label>
      {control}
      {hint && (
        <div id={hintId} className="field-hint">
          {hint}
        </div>
      )}
      {error && (
        <div id={errId} className="field-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
