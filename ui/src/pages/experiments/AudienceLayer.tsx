import { useId, useRef, useState } from "react";
import { ApiError } from "../../api/client";
import { tapi, xapi } from "../../api/endpoints";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useToast } from "../../components/Toast";
import type { Experiment } from "../../api/experimentTypes";
import type { AttributeSuggestion, Clause, Layer } from "../../api/types";
import { fieldError } from "../../lib/errors";
import { parsePercent, percent, TOTAL } from "../../lib/rollout";
import { clauseDraft, describeClause, focusPath, placeError, toClause, type ClauseDraft } from "../../lib/targeting";
import { Field } from "../../components/Field";
import { ClausesEditor } from "../../components/targeting/ClausesEditor";
import type { SegmentOption } from "../../components/targeting/ValuesInput";

/** The layer fields as typed: percentages of the layer's buckets. */
export interface LayerDraft {
  on: boolean;
  key: string;
  start: string;
  end: string;
}

export const layerDraft = (l?: Layer | null): LayerDraft =>
  l ? { on: true, key: l.key, start: percent(l.start), end: percent(l.end) } : { on: false, key: "", start: "0", end: "100" };

export const audienceDrafts = (a?: Clause[]): ClauseDraft[] => (a ?? []).map(clauseDraft);

/** The layer to send, or an error on layer.start / layer.end (the API's field names). */
export function toLayer(d: LayerDraft): { layer: Layer | null } | { error: ApiError } {
  if (!d.on) return { layer: null };
  const start = parsePercent(d.start);
  const end = parsePercent(d.end);
  if (Number.isNaN(start) || start < 0 || start >= TOTAL) return { error: new ApiError(422, "invalid", "must be a percentage from 0 to 99.99", "layer.start") };
  if (Number.isNaN(end) || end <= start || end > TOTAL) return { error: new ApiError(422, "invalid", "must be a percentage above the start, at most 100", "layer.end") };
  return { layer: { key: d.key.trim(), start, end } };
}

export const toAudience = (cs: ClauseDraft[]): Clause[] => cs.map(toClause);

interface Props {
  audience: ClauseDraft[];
  onAudience: (a: ClauseDraft[]) => void;
  layer: LayerDraft;
  onLayer: (l: LayerDraft) => void;
  error?: unknown;
  attributes?: AttributeSuggestion[];
  segments?: SegmentOption[];
  /** The environment's other experiments, to show who else uses the layer. */
  others?: Experiment[];
  disabled?: boolean;
}

/** An experiment's audience conditions (field "audience"), with the environment's attribute names suggested and server errors at their clause. */
export function AudienceClauses({ audience, onAudience, error, attributes, segments, disabled }: Pick<Props, "audience" | "onAudience" | "error" | "attributes" | "segments" | "disabled">) {
  return (
    <ClausesEditor
      clauses={audience}
      onChange={onAudience}
      field="audience"
      error={placeError(error, "audience", true)}
      attributes={attributes}
      segments={segments}
      disabled={disabled}
      emptyText="Everybody with a targeting key may enter."
    />
  );
}

/** Who may enter an experiment (audience: conditions, segments) and its slice of a layer (mutually exclusive experiments). */
export function AudienceLayerFields({ audience, onAudience, layer, onLayer, error, attributes, segments, others, disabled }: Props) {
  const ids = useId();
  const sameLayer = (others ?? []).filter((x) => layer.on && x.layer && x.layer.key === layer.key.trim() && x.status !== "stopped");
  const layerMsg = error instanceof ApiError && error.field === "layer" ? error.message : undefined;
  return (
    <>
      <section aria-labelledby={`${ids}-aud`}>
        <h2 id={`${ids}-aud`} className="small-heading">
          Audience
        </h2>
        <p className="muted small">Only contexts matching every condition may enter; the others get the off variant and are not exposed.</p>
        <AudienceClauses audience={audience} onAudience={onAudience} error={error} attributes={attributes} segments={segments} disabled={disabled} />
      </section>
      <section aria-labelledby={`${ids}-layer`} data-field="layer" tabIndex={-1}>
        <h2 id={`${ids}-layer`} className="small-heading">
          Layer
        </h2>
        <label className="checkbox">
          <input type="checkbox" checked={layer.on} disabled={disabled} onChange={(e) => onLayer({ ...layer, on: e.target.checked })} />
          Mutually exclusive with other experiments in a layer
        </label>
        {layer.on && (
          <div className="grid-2">
            <Field label="Layer key" field="layer.key" error={fieldError(error, "layer.key")} hint="Experiments with the same layer key never share a user.">
              <input className="mono" value={layer.key} disabled={disabled} spellCheck={false} autoCapitalize="off" onChange={(e) => onLayer({ ...layer, key: e.target.value })} />
            </Field>
            <div className="row">
              <Field label="From (% of the layer)" field="layer.start" error={fieldError(error, "layer.start")}>
                <input inputMode="decimal" value={layer.start} disabled={disabled} onChange={(e) => onLayer({ ...layer, start: e.target.value })} />
              </Field>
              <Field label="To (% of the layer)" field="layer.end" error={fieldError(error, "layer.end")}>
                <input inputMode="decimal" value={layer.end} disabled={disabled} onChange={(e) => onLayer({ ...layer, end: e.target.value })} />
              </Field>
            </div>
          </div>
        )}
        {layerMsg && (
          <div className="field-error" role="alert">
            {layerMsg}
          </div>
        )}
        {sameLayer.length > 0 && (
          <p className="muted small">
            Also in layer <code>{layer.key.trim()}</code>:{" "}
            {sameLayer.map((x, i) => (
              <span key={x.key}>
                {i > 0 && ", "}
                {x.name} {percent(x.layer!.start)}–{percent(x.layer!.end)}%
              </span>
            ))}
            .
          </p>
        )}
      </section>
    </>
  );
}

/** An experiment's audience and layer: read-only once started, editable (saved with the whole draft) before. */
export function AudienceLayerCard({ x, onChange }: { x: Experiment; onChange: (x: Experiment) => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const editable = x.status === "draft";
  const attributes = useApi((s) => (editable ? tapi.attributes(ws.project, x.environment, s) : Promise.resolve(undefined)), [ws.project, x.environment, editable]);
  const segments = useApi((s) => (editable ? tapi.listSegments(ws.project, x.environment, s) : Promise.resolve(undefined)), [ws.project, x.environment, editable]);
  const experiments = useApi((s) => (editable ? xapi.listExperiments(ws.project, s) : Promise.resolve(undefined)), [ws.project, editable]);
  const [audience, setAudience] = useState<ClauseDraft[]>(() => audienceDrafts(x.audience));
  const [layer, setLayer] = useState<LayerDraft>(() => layerDraft(x.layer));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLElement>(null);

  const save = async () => {
    const l = toLayer(layer);
    if ("error" in l) return setError(l.error);
    setBusy(true);
    setError(undefined);
    try {
      const nx = await xapi.updateExperiment(ws.project, x.key, {
        key: x.key,
        name: x.name,
        hypothesis: x.hypothesis,
        flag: x.flag,
        environment: x.environment,
        weights: x.weights,
        traffic: x.traffic,
        primary_metrics: x.primary_metrics,
        secondary_metrics: x.secondary_metrics,
        planned_duration_days: x.planned_duration_days,
        planned_sample_size: x.planned_sample_size,
        minimum_detectable_effect: x.minimum_detectable_effect,
        audience: toAudience(audience),
        layer: l.layer,
      });
      onChange(nx);
      toast(`Audience and layer of ${x.name} saved`);
    } catch (e) {
      setError(e);
      requestAnimationFrame(() => focusPath(e, ref.current ?? document));
    } finally {
      setBusy(false);
    }
  };

  const placed = placeError(error, "audience", true) !== undefined || (error instanceof ApiError && /^layer/.test(error.field));
  return (
    <section className="card" ref={ref} aria-labelledby="audience-title">
      <h2 id="audience-title">Audience and layer</h2>
      {editable ? (
        <>
          {!placed && <ErrorBanner error={error} />}
          <AudienceLayerFields
            audience={audience}
            onAudience={setAudience}
            layer={layer}
            onLayer={setLayer}
            error={error}
            attributes={attributes.data?.attributes}
            segments={(segments.data?.segments ?? []).map((s) => ({ key: s.key, name: s.name }))}
            others={(experiments.data?.items ?? []).filter((o) => o.environment === x.environment && o.key !== x.key)}
            disabled={busy}
          />
          <div className="form-actions">
            <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void save()}>
              {busy ? "Saving…" : "Save audience and layer"}
            </button>
          </div>
        </>
      ) : (
        <dl className="dl">
          <dt>Audience</dt>
          <dd>{(x.audience ?? []).length ? (x.audience ?? []).map(describeClause).join(" and ") : "everybody with a targeting key"}</dd>
          <dt>Layer</dt>
          <dd>
            {x.layer ? (
              <>
                <code>{x.layer.key}</code> {percent(x.layer.start)}–{percent(x.layer.end)}% of the layer
              </>
            ) : (
              "none"
            )}
          </dd>
        </dl>
      )}
      {x.status === "running" && <p className="muted small">While it runs, its audience changes only as a new phase: Change plan (new phase), at the top.</p>}
    </section>
  );
}
