import { useEffect, useId, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { tapi } from "../../api/endpoints";
import { ApiError } from "../../api/client";
import type { Segment } from "../../api/types";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { fieldError } from "../../lib/errors";
import { dateTime, parseUserIds, plural, relativeTime, slugify } from "../../lib/format";
import { focusPath, placeError, ruleDraft, toRule, type RuleDraft } from "../../lib/targeting";
import { Field } from "../../components/Field";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { useToast } from "../../components/Toast";
import { RulesEditor } from "../../components/targeting/RulesEditor";
import "../../components/targeting/targeting.css";

const LABELS = { key: "Key", name: "Name", description: "Description", included: "Included ids", excluded: "Excluded ids", rules: "Rules" };

/** /segments/new and /segments/:segment: a segment's lists and rules in the current environment. */
export function SegmentPage() {
  const ws = useWorkspace();
  const { segment: key } = useParams();
  const seg = useApi((s) => (key ? tapi.getSegment(ws.project, ws.env, key, s) : Promise.resolve(undefined)), [ws.project, ws.env, key]);
  useEffect(() => {
    document.title = `${key ? (seg.data?.name ?? key) : "New segment"} · Segments · Waypost`;
  }, [key, seg.data?.name]);

  const crumbs = (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to={ws.to("segments")}>Segments</Link> <span aria-hidden="true">/</span> <span aria-current="page">{key ?? "New segment"}</span>
    </nav>
  );
  if (key && seg.error) {
    return (
      <div>
        {crumbs}
        <ErrorBanner error={seg.error} onRetry={seg.error instanceof ApiError && seg.error.status === 404 ? undefined : seg.reload} />
      </div>
    );
  }
  if (key && !seg.data) return <Loading label="Loading segment…" />;
  return (
    <div className="narrow">
      {crumbs}
      {/* A saved segment remounts the form with what the server stored. */}
      <SegmentForm key={seg.data ? `${seg.data.key}@${seg.data.version}` : "new"} segment={seg.data} onSaved={(s) => seg.setData(s)} />
    </div>
  );
}

function SegmentForm({ segment, onSaved }: { segment?: Segment; onSaved: (s: Segment) => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const navigate = useNavigate();
  const attributes = useApi((s) => tapi.attributes(ws.project, ws.env, s), [ws.project, ws.env]);
  const [name, setName] = useState(segment?.name ?? "");
  const [key, setKey] = useState(segment?.key ?? "");
  const [keyTouched, setKeyTouched] = useState(false);
  const [description, setDescription] = useState(segment?.description ?? "");
  const [rules, setRules] = useState<RuleDraft[]>(() => (segment?.rules ?? []).map((r) => ruleDraft(r)));
  const included = useRef<HTMLTextAreaElement>(null);
  const excluded = useRef<HTMLTextAreaElement>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const [sent, setSent] = useState<{ included: string[]; excluded: string[] }>({ included: [], excluded: [] });

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const body = {
      name: name.trim(),
      description,
      included: parseUserIds(included.current?.value ?? ""),
      excluded: parseUserIds(excluded.current?.value ?? ""),
      rules: rules.map((r) => toRule(r)),
    };
    setSent({ included: body.included, excluded: body.excluded });
    try {
      if (segment) {
        const s = await tapi.updateSegment(ws.project, ws.env, segment.key, { ...body, version: segment.version });
        toast(`Segment ${s.key} saved in ${ws.environment.name}`);
        onSaved(s);
      } else {
        const s = await tapi.createSegment(ws.project, ws.env, { ...body, key: key.trim() });
        toast(`Segment ${s.key} created in ${ws.environment.name}`);
        navigate(ws.to(`segments/${encodeURIComponent(s.key)}`));
      }
    } catch (err) {
      setError(err);
      requestAnimationFrame(() => focusPath(err, formRef.current ?? document));
    } finally {
      setBusy(false);
    }
  };

  // "included[3]" names the offending id.
  const idError = (list: "included" | "excluded") => {
    const m = error instanceof ApiError ? new RegExp(`^${list}\\[(\\d+)\\]`).exec(error.field) : null;
    if (m) return `${sent[list][Number(m[1])] ?? `id #${Number(m[1]) + 1}`}: ${(error as ApiError).message}`;
    return fieldError(error, list);
  };
  const placed =
    placeError(error, "rules") !== undefined ||
    ["key", "name", "description"].some((f) => fieldError(error, f)) ||
    (error instanceof ApiError && /^(included|excluded)/.test(error.field));

  return (
    <>
      <div className="page-header">
        <div>
          <h1>{segment ? segment.name : "New segment"}</h1>
          <p className="muted small">
            In <strong>{ws.environment.name}</strong>
            {segment && (
              <>
                {" "}
                · <code>{segment.key}</code> · version {segment.version} · updated <span title={dateTime(segment.updated_at)}>{relativeTime(segment.updated_at)}</span>
              </>
            )}
          </p>
        </div>
        {segment && (
          <button type="button" className="btn btn-danger-outline" onClick={() => setDeleting(true)}>
            Delete segment
          </button>
        )}
      </div>
      <form ref={formRef} className="card form" onSubmit={submit} noValidate>
        {!placed && <ErrorBanner error={error} labels={LABELS} />}
        <div className="grid-2">
          <Field label="Name" field="name" error={fieldError(error, "name")}>
            <input
              value={name}
              autoFocus={!segment}
              onChange={(e) => {
                setName(e.target.value);
                if (!segment && !keyTouched) setKey(slugify(e.target.value));
              }}
            />
          </Field>
          <Field label="Key" field="key" error={fieldError(error, "key")} hint={segment ? "Fixed once created." : "What in_segment conditions name."}>
            <input
              value={key}
              className="mono"
              readOnly={!!segment}
              spellCheck={false}
              autoCapitalize="off"
              onChange={(e) => {
                setKey(e.target.value);
                setKeyTouched(true);
              }}
            />
          </Field>
        </div>
        <Field label="Description" field="description" error={fieldError(error, "description")}>
          <textarea rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        <IdsField
          label="Included ids"
          field="included"
          hint="Targeting keys always in the segment."
          initial={segment?.included ?? []}
          textarea={included}
          error={idError("included")}
          disabled={busy}
        />
        <IdsField
          label="Excluded ids"
          field="excluded"
          hint="Targeting keys never in the segment, even when included or matched by a rule."
          initial={segment?.excluded ?? []}
          textarea={excluded}
          error={idError("excluded")}
          disabled={busy}
        />
        <h2 className="small-heading">Rules</h2>
        <p className="muted small">A context is also in the segment when all conditions of any rule match.</p>
        <RulesEditor
          rules={rules}
          onChange={setRules}
          attributes={attributes.data?.attributes}
          error={error}
          disabled={busy}
          emptyText="No rules: only the included ids are in the segment."
        />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Saving…" : segment ? "Save segment" : "Create segment"}
          </button>
          <Link to={ws.to("segments")} className="btn btn-ghost">
            Cancel
          </Link>
        </div>
      </form>
      {deleting && segment && (
        <ConfirmDialog
          title={`Delete “${segment.name}”?`}
          confirmLabel="Delete segment"
          danger
          onCancel={() => setDeleting(false)}
          onConfirm={async () => {
            await tapi.deleteSegment(ws.project, ws.env, segment.key);
            toast(`Segment ${segment.key} deleted`);
            navigate(ws.to("segments"));
          }}
        >
          <p>
            The segment is removed from {ws.environment.name}. A segment still used by a flag rule or an experiment audience cannot be deleted; remove it
            from those first.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

/**
 * A list of up to 100,000+ ids. The textarea is uncontrolled (React does
 * not re-render a megabyte of text on every keystroke) and the count is
 * computed after typing pauses; the page reads the value when saving.
 */
function IdsField(props: {
  label: string;
  field: string;
  hint: string;
  initial: string[];
  textarea: React.RefObject<HTMLTextAreaElement | null>;
  error?: string;
  disabled?: boolean;
}) {
  const id = useId();
  const [count, setCount] = useState(props.initial.length);
  const [reading, setReading] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const recount = (delay = 250) => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setCount(parseUserIds(props.textarea.current?.value ?? "").length), delay);
  };
  useEffect(() => () => clearTimeout(timer.current), []);
  const load = async (file: File | undefined) => {
    if (!file || !props.textarea.current) return;
    setReading(true);
    try {
      const text = await readText(file);
      const el = props.textarea.current;
      el.value = el.value.trim() ? `${el.value.replace(/\s+$/, "")}\n${text}` : text;
      setCount(parseUserIds(el.value).length);
    } finally {
      setReading(false);
    }
  };
  return (
    <div className="ids-field">
      <Field
        label={props.label}
        field={props.field}
        error={props.error}
        hint={
          <>
            {props.hint} One per line, or separated by commas or spaces. <span className="id-count">{plural(count, "distinct id")}</span>
            {reading && " · reading the file…"}
          </>
        }
      >
        <textarea
          ref={props.textarea}
          rows={5}
          className="mono"
          spellCheck={false}
          autoCapitalize="off"
          defaultValue={props.initial.join("\n")}
          disabled={props.disabled}
          onChange={() => recount()}
        />
      </Field>
      <label className="btn btn-small file-button" htmlFor={`${id}-file`}>
        Add ids from a file…
      </label>
      <input
        id={`${id}-file`}
        type="file"
        className="sr-only"
        accept=".txt,.csv,text/plain,text/csv"
        aria-label={`Add ${props.label.toLowerCase()} from a file`}
        disabled={props.disabled}
        onChange={(e) => {
          void load(e.target.files?.[0]);
          e.target.value = "";
        }}
      />
    </div>
  );
}

function readText(file: File): Promise<string> {
  if (typeof file.text === "function") return file.text();
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result ?? ""));
    r.onerror = () => reject(r.error);
    r.readAsText(file);
  });
}
