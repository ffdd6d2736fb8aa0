// Maps API errors to form fields. The API names the offending field with a
// JSON path ("key", "tags[2]", "variants[1].value", "rollout[0].weight");
// forms ask for the message of the field they render.
import { ApiError } from "../api/client";

/** The message for field when err is about it (exactly, or about an element inside it when prefix is set). */
export function fieldError(err: unknown, field: string, opts: { prefix?: boolean } = {}): string | undefined {
  if (!(err instanceof ApiError) || !err.field) return undefined;
  // The API reports every invalid field at once (error.errors): each form field finds its own.
  for (const f of err.fields) {
    if (f.field === field) return f.message;
    if (opts.prefix && (f.field.startsWith(field + "[") || f.field.startsWith(field + "."))) return f.message;
  }
  return undefined;
}

/** "Key is required · Flag is required": every invalid field of err in one line (describe for one). */
export function describeAll(err: unknown, labels: Record<string, string> = {}): string {
  if (err instanceof ApiError && err.fields.length > 1) return err.fields.map((f) => `${labelFor(f.field, labels)}: ${f.message}`).join(" · ");
  return describe(err, labels);
}

/** A human label for an error: "Invalid key: must match …". */
export function describe(err: unknown, labels: Record<string, string> = {}): string {
  if (err instanceof ApiError) {
    if (err.field) {
      const label = labelFor(err.field, labels);
      return `${label}: ${err.message}`;
    }
    return err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

function labelFor(field: string, labels: Record<string, string>): string {
  if (labels[field]) return labels[field];
  const m = /^([a-z_]+)\[(\d+)\](?:\.([a-z_]+))?$/.exec(field);
  if (m) {
    const base = labels[m[1]] ?? m[1].replace(/_/g, " ");
    return m[3] ? `${base} #${Number(m[2]) + 1} ${m[3].replace(/_/g, " ")}` : `${base} #${Number(m[2]) + 1}`;
  }
  return field.replace(/_/g, " ");
}

/** Moves focus to the form control for err.field (inputs carry data-field), if rendered. */
export function focusField(err: unknown, root: ParentNode = document): void {
  if (!(err instanceof ApiError) || !err.field) return;
  const esc = typeof CSS !== "undefined" && CSS.escape ? CSS.escape(err.field) : err.field.replace(/(["\\[\].])/g, "\\$1");
  let el = root.querySelector<HTMLElement>(`[data-field="${esc}"]`);
  if (!el) {
    // "tags[2]" → the tags input; "variants[1].value" → the variants block.
    const base = err.field.replace(/[[.].*$/, "");
    el = root.querySelector<HTMLElement>(`[data-field="${base}"]`);
  }
  if (el) {
    el.focus();
    if (typeof el.scrollIntoView === "function") el.scrollIntoView({ block: "center", behavior: "smooth" });
  }
}
