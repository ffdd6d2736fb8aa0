import { useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { api } from "../api/endpoints";
import type { FlagKind } from "../api/types";
import { useWorkspace } from "../workspace";
import { fieldError, focusField } from "../lib/errors";
import { parseTags, slugify } from "../lib/format";
import { Field } from "../components/Field";
import { ErrorBanner } from "../components/ErrorBanner";
import { VariantsEditor, defaultVariants, fromDrafts, type VariantDraft } from "../components/VariantsEditor";
import { useToast } from "../components/Toast";

export const FLAG_LABELS: Record<string, string> = {
  key: "Key",
  name: "Name",
  description: "Description",
  tags: "Tags",
  kind: "Kind",
  variants: "Variants",
  version: "Version",
};

const KINDS: { kind: FlagKind; label: string; hint: string }[] = [
  { kind: "boolean", label: "Boolean", hint: "on / off" },
  { kind: "string", label: "String", hint: "text variants" },
  { kind: "number", label: "Number", hint: "numeric variants" },
  { kind: "json", label: "JSON", hint: "structured config" },
];

export function CreateFlagPage() {
  const ws = useWorkspace();
  const navigate = useNavigate();
  const toast = useToast();
  const [name, setName] = useState("");
  const [key, setKey] = useState("");
  const [keyTouched, setKeyTouched] = useState(false);
  const [description, setDescription] = useState("");
  const [tags, setTags] = useState("");
  const [kind, setKind] = useState<FlagKind>("boolean");
  const [variants, setVariants] = useState<VariantDraft[]>(defaultVariants("boolean"));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    document.title = "New flag · Waypost";
  }, []);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const f = await api.createFlag(ws.project, {
        key: key.trim(),
        name: name.trim(),
        description,
        tags: parseTags(tags),
        kind,
        variants: fromDrafts(kind, variants),
      });
      toast(`Flag ${f.key} created`);
      navigate(ws.to(`flags/${encodeURIComponent(f.key)}`));
    } catch (err) {
      setError(err);
      setBusy(false);
      requestAnimationFrame(() => focusField(err, formRef.current ?? document));
    }
  };

  return (
    <div className="narrow">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={ws.to("flags")}>Flags</Link> <span aria-hidden="true">/</span> New flag
      </nav>
      <h1>New flag</h1>
      <p className="muted">
        A new flag starts <strong>off</strong> in every environment, serving its first variant. Turn it on per environment when you are ready.
      </p>
      <form ref={formRef} onSubmit={submit} noValidate className="card form">
        <ErrorBanner error={error} labels={FLAG_LABELS} />
        <Field label="Name" field="name" error={fieldError(error, "name")} hint="What people see in the dashboard.">
          <input
            value={name}
            autoFocus
            maxLength={200}
            onChange={(e) => {
              setName(e.target.value);
              if (!keyTouched) setKey(slugify(e.target.value));
            }}
          />
        </Field>
        <Field
          label="Key"
          field="key"
          error={fieldError(error, "key")}
          hint="What your code asks for. Lower-case letters, digits, '.', '_' and '-'; cannot be changed later."
        >
          <input
            value={key}
            className="mono"
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
            maxLength={100}
            onChange={(e) => {
              setKey(e.target.value);
              setKeyTouched(true);
            }}
          />
        </Field>
        <Field label="Description" field="description" error={fieldError(error, "description")} hint="Optional: what it changes and who owns it.">
          <textarea value={description} rows={3} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        <Field label="Tags" field="tags" error={fieldError(error, "tags", { prefix: true })} hint="Optional, separated by commas or spaces, e.g. checkout, team:web.">
          <input value={tags} spellCheck={false} autoCapitalize="off" onChange={(e) => setTags(e.target.value)} />
        </Field>
        <fieldset className="kind-picker" data-field="kind" tabIndex={-1}>
          <legend className="field-label">Kind</legend>
          <div className="radio-cards">
            {KINDS.map((k) => (
              <label key={k.kind} className={kind === k.kind ? "radio-card checked" : "radio-card"}>
                <input
                  type="radio"
                  name="kind"
                  value={k.kind}
                  checked={kind === k.kind}
                  onChange={() => {
                    setKind(k.kind);
                    setVariants(defaultVariants(k.kind));
                  }}
                />
                <span>
                  <strong>{k.label}</strong>
                  <span className="muted"> {k.hint}</span>
                </span>
              </label>
            ))}
          </div>
          {fieldError(error, "kind") && <div className="field-error">{fieldError(error, "kind")}</div>}
        </fieldset>
        <VariantsEditor kind={kind} value={variants} onChange={setVariants} error={error} disabled={busy} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Creating…" : "Create flag"}
          </button>
          <Link to={ws.to("flags")} className="btn btn-ghost">
            Cancel
          </Link>
        </div>
      </form>
    </div>
  );
}
