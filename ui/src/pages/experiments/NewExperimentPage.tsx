import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, tapi, xapi } from "../../api/endpoints";
import { ApiError } from "../../api/client";
import type { MetricType } from "../../api/experimentTypes";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { fieldError, focusField } from "../../lib/errors";
import { slugify } from "../../lib/format";
import { even, parsePercent, toWeights, TOTAL } from "../../lib/rollout";
import { Field } from "../../components/Field";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";
import { RolloutEditor } from "../../components/RolloutEditor";
import { useToast } from "../../components/Toast";
import { PowerEstimate } from "./PowerEstimate";
import { AudienceLayerFields, layerDraft, toAudience, toLayer, type LayerDraft } from "./AudienceLayer";
import type { ClauseDraft } from "../../lib/targeting";
import { focusPath } from "../../lib/targeting";

const LABELS: Record<string, string> = {
  key: "Key",
  name: "Name",
  hypothesis: "Hypothesis",
  flag: "Flag",
  weights: "Variant weights",
  traffic: "Traffic allocation",
  primary_metrics: "Primary metrics",
  secondary_metrics: "Secondary metrics",
  planned_duration_days: "Planned duration",
  planned_sample_size: "Planned sample size",
  minimum_detectable_effect: "Minimum detectable effect",
  audience: "Audience",
  layer: "Layer",
};

/** /experiments/new?flag=key: a draft experiment on a flag in the current environment. */
export function NewExperimentPage() {
  const ws = useWorkspace();
  const navigate = useNavigate();
  const toast = useToast();
  const [params, setParams] = useSearchParams();
  const flagKey = params.get("flag") ?? "";
  const flags = useApi((s) => api.listFlags(ws.project, { limit: 200 }, s), [ws.project]);
  const flagData = useApi((s) => (flagKey ? api.getFlag(ws.project, flagKey, s) : Promise.resolve(undefined)), [ws.project, flagKey]);
  const metrics = useApi((s) => xapi.listMetrics(ws.project, s), [ws.project]);
  const flag = flagData.data;
  const attributes = useApi((s) => tapi.attributes(ws.project, ws.env, s), [ws.project, ws.env]);
  const segments = useApi((s) => tapi.listSegments(ws.project, ws.env, s), [ws.project, ws.env]);
  const experiments = useApi((s) => xapi.listExperiments(ws.project, s), [ws.project]);
  const [audience, setAudience] = useState<ClauseDraft[]>([]);
  const [layer, setLayer] = useState<LayerDraft>(layerDraft());

  const [name, setName] = useState("");
  const [key, setKey] = useState("");
  const [keyTouched, setKeyTouched] = useState(false);
  const [hypothesis, setHypothesis] = useState("");
  const [weights, setWeights] = useState<number[]>([]);
  const [traffic, setTraffic] = useState("100");
  const [primary, setPrimary] = useState<string[]>([]);
  const [secondary, setSecondary] = useState<string[]>([]);
  const [plan, setPlan] = useState<"duration" | "sample">("duration");
  const [days, setDays] = useState("14");
  const [sample, setSample] = useState("");
  const [mde, setMde] = useState("5");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    document.title = "New experiment · Waypost";
  }, []);
  useEffect(() => {
    if (flag) setWeights(even(flag.variants.length));
  }, [flag]);

  const allMetrics = metrics.data?.items ?? [];
  const firstPrimary = allMetrics.find((m) => m.key === primary[0]);
  const metricType: MetricType = firstPrimary?.type ?? "binomial";
  const trafficBP = parsePercent(traffic);
  const mdeNum = mde.trim() === "" ? undefined : Number(mde) / 100;
  const arms = weights.filter((w) => w > 0).length;

  const fail = (err: unknown) => {
    setError(err);
    setBusy(false);
    requestAnimationFrame(() => {
      focusField(err, formRef.current ?? document);
      focusPath(err, formRef.current ?? document);
    });
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!flag) return fail(new ApiError(422, "invalid", "choose a flag", "flag"));
    if (Number.isNaN(trafficBP) || trafficBP < 1 || trafficBP > TOTAL) return fail(new ApiError(422, "invalid", "must be a percentage from 0.01 to 100", "traffic"));
    if (mdeNum !== undefined && !(mdeNum > 0)) return fail(new ApiError(422, "invalid", "must be a positive percentage", "minimum_detectable_effect"));
    const d = Number(days);
    const n = Number(sample);
    if (plan === "duration" && days.trim() !== "" && !(Number.isInteger(d) && d >= 1))
      return fail(new ApiError(422, "invalid", "must be a whole number of days", "planned_duration_days"));
    if (plan === "sample" && sample.trim() !== "" && !(Number.isInteger(n) && n >= 1))
      return fail(new ApiError(422, "invalid", "must be a whole number of users per variant", "planned_sample_size"));
    const l = toLayer(layer);
    if ("error" in l) return fail(l.error);
    setBusy(true);
    setError(undefined);
    try {
      const x = await xapi.createExperiment(ws.project, {
        key: key.trim(),
        name: name.trim(),
        hypothesis,
        flag: flag.key,
        environment: ws.env,
        weights: toWeights(flag.variants, weights),
        traffic: trafficBP,
        primary_metrics: primary,
        secondary_metrics: secondary.filter((m) => !primary.includes(m)),
        planned_duration_days: plan === "duration" && days.trim() !== "" ? d : null,
        planned_sample_size: plan === "sample" && sample.trim() !== "" ? n : null,
        minimum_detectable_effect: mdeNum ?? null,
        audience: toAudience(audience),
        layer: l.layer,
      });
      toast(`Experiment ${x.key} created as a draft`);
      navigate(ws.to(`experiments/${encodeURIComponent(x.key)}`));
    } catch (err) {
      fail(err);
    }
  };

  const toggle = (list: string[], set: (v: string[]) => void, k: string) => set(list.includes(k) ? list.filter((x) => x !== k) : [...list, k]);
  const flagOptions = useMemo(() => (flags.data?.items ?? []).filter((f) => !f.archived_at && f.variants.length >= 2), [flags.data]);

  return (
    <div className="narrow">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={ws.to("experiments")}>Experiments</Link> <span aria-hidden="true">/</span>
        {flag && (
          <>
            {" "}
            <Link to={ws.to(`flags/${encodeURIComponent(flag.key)}`)}>{flag.name}</Link> <span aria-hidden="true">/</span>
          </>
        )}{" "}
        New experiment
      </nav>
      <h1>New experiment</h1>
      <p className="muted">
        In <strong>{ws.environment.name}</strong>. It starts as a draft; starting it changes the flag's rollout to the weights below for the users in the
        experiment.
      </p>
      <form ref={formRef} onSubmit={submit} noValidate className="card form">
        <ErrorBanner error={error} labels={LABELS} />
        <Field label="Flag" field="flag" error={fieldError(error, "flag")}>
          <select value={flagKey} onChange={(e) => setParams(e.target.value ? { flag: e.target.value } : {}, { replace: true })}>
            <option value="">Choose a flag…</option>
            {flagKey && !flagOptions.some((f) => f.key === flagKey) && <option value={flagKey}>{flagKey}</option>}
            {flagOptions.map((f) => (
              <option key={f.key} value={f.key}>
                {f.name} ({f.key})
              </option>
            ))}
          </select>
        </Field>
        <ErrorBanner error={flagData.error} />
        <div className="grid-2">
          <Field label="Name" field="name" error={fieldError(error, "name")}>
            <input
              value={name}
              autoFocus
              onChange={(e) => {
                setName(e.target.value);
                if (!keyTouched) setKey(slugify(e.target.value));
              }}
            />
          </Field>
          <Field label="Key" field="key" error={fieldError(error, "key")} hint="What the exposures query reports as experiment_key.">
            <input
              value={key}
              className="mono"
              spellCheck={false}
              autoCapitalize="off"
              onChange={(e) => {
                setKey(e.target.value);
                setKeyTouched(true);
              }}
            />
          </Field>
        </div>
        <Field label="Hypothesis" field="hypothesis" error={fieldError(error, "hypothesis")} hint="What you expect to change, and why.">
          <textarea rows={2} value={hypothesis} onChange={(e) => setHypothesis(e.target.value)} />
        </Field>

        {flagKey && !flag && !flagData.error && <Loading label="Loading the flag…" />}
        {flag && weights.length === flag.variants.length && (
          <div>
            <RolloutEditor legend="Variant weights" variants={flag.variants} value={weights} onChange={setWeights} error={fieldError(error, "weights", { prefix: true })} />
            {arms < 2 && <p className="text-error small">Give at least two variants a positive weight to compare them.</p>}
          </div>
        )}

        <Field
          label="Traffic allocation (%)"
          field="traffic"
          error={fieldError(error, "traffic")}
          hint="Share of users who enter the experiment; the others get the off variant and are not exposed."
        >
          <input inputMode="decimal" value={traffic} onChange={(e) => setTraffic(e.target.value)} />
        </Field>

        <AudienceLayerFields
          audience={audience}
          onAudience={setAudience}
          layer={layer}
          onLayer={setLayer}
          error={error}
          attributes={attributes.data?.attributes}
          segments={(segments.data?.segments ?? []).map((x) => ({ key: x.key, name: x.name }))}
          others={(experiments.data?.items ?? []).filter((x) => x.environment === ws.env)}
        />

        <MetricPicker
          legend="Primary metrics"
          field="primary_metrics"
          error={fieldError(error, "primary_metrics", { prefix: true })}
          metrics={allMetrics}
          chosen={primary}
          onToggle={(k) => toggle(primary, setPrimary, k)}
          loading={!metrics.data}
        />
        <MetricPicker
          legend="Secondary metrics"
          field="secondary_metrics"
          error={fieldError(error, "secondary_metrics", { prefix: true })}
          metrics={allMetrics.filter((m) => !primary.includes(m.key))}
          chosen={secondary}
          onToggle={(k) => toggle(secondary, setSecondary, k)}
          loading={!metrics.data}
        />

        <section aria-labelledby="plan-heading">
          <h2 id="plan-heading" className="small-heading">
            Plan
          </h2>
          <div className="segmented plan-by" role="group" aria-label="Plan by">
            <button type="button" aria-pressed={plan === "duration"} onClick={() => setPlan("duration")}>
              Duration
            </button>
            <button type="button" aria-pressed={plan === "sample"} onClick={() => setPlan("sample")}>
              Sample size
            </button>
          </div>
          <div className="grid-2">
            {plan === "duration" ? (
              <Field label="Planned duration (days)" field="planned_duration_days" error={fieldError(error, "planned_duration_days")}>
                <input inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
              </Field>
            ) : (
              <Field label="Planned sample size (users per variant)" field="planned_sample_size" error={fieldError(error, "planned_sample_size")}>
                <input inputMode="numeric" value={sample} onChange={(e) => setSample(e.target.value)} />
              </Field>
            )}
            <Field
              label="Minimum detectable effect (%)"
              field="minimum_detectable_effect"
              error={fieldError(error, "minimum_detectable_effect")}
              hint="The smallest relative change worth detecting, e.g. 5 for a 5% lift."
            >
              <input inputMode="decimal" value={mde} onChange={(e) => setMde(e.target.value)} />
            </Field>
          </div>
          <h2 className="small-heading">
            Power estimate{firstPrimary ? ` for ${firstPrimary.name} (${firstPrimary.type})` : ""}
          </h2>
          <PowerEstimate
            key={metricType}
            project={ws.project}
            metricType={metricType}
            mde={mdeNum}
            variants={Math.max(2, arms)}
            traffic={Number.isNaN(trafficBP) ? 1 : trafficBP / TOTAL}
          />
        </section>

        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Creating…" : "Create draft experiment"}
          </button>
          <Link to={flag ? ws.to(`flags/${encodeURIComponent(flag.key)}`) : ws.to("experiments")} className="btn btn-ghost">
            Cancel
          </Link>
        </div>
      </form>
    </div>
  );
}

function MetricPicker(props: {
  legend: string;
  field: string;
  error?: string;
  metrics: { key: string; name: string; type: string; guardrail: boolean }[];
  chosen: string[];
  onToggle: (k: string) => void;
  loading: boolean;
}) {
  const ws = useWorkspace();
  return (
    <fieldset className={props.error ? "field field-invalid" : "field"} data-field={props.field} tabIndex={-1}>
      <legend className="field-label">{props.legend}</legend>
      {props.loading ? (
        <Loading />
      ) : props.metrics.length === 0 ? (
        <p className="muted small">
          {props.field === "secondary_metrics" ? "No other metrics." : "No metrics yet."} <Link to={ws.to("metrics/new")}>Create a metric</Link>.
        </p>
      ) : (
        <div className="metric-checks">
          {props.metrics.map((m) => (
            <label key={m.key} className="checkbox">
              <input type="checkbox" checked={props.chosen.includes(m.key)} onChange={() => props.onToggle(m.key)} />
              {m.name} <span className="muted small">{m.type}</span>
              {m.guardrail && <span className="badge badge-warn">guardrail</span>}
            </label>
          ))}
        </div>
      )}
      {props.error && (
        <div className="field-error" role="alert">
          {props.error}
        </div>
      )}
    </fieldset>
  );
}
