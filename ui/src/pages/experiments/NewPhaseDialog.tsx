import { useId, useRef, useState } from "react";
import { ApiError } from "../../api/client";
import { tapi, xapi } from "../../api/endpoints";
import type { Experiment, NewPhase } from "../../api/experimentTypes";
import type { Variant } from "../../api/types";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { fieldError } from "../../lib/errors";
import { parsePercent, percent, TOTAL } from "../../lib/rollout";
import { focusPath, placeError, type ClauseDraft } from "../../lib/targeting";
import { Modal } from "../../components/Modal";
import { Field } from "../../components/Field";
import { ErrorBanner } from "../../components/ErrorBanner";
import { RolloutEditor } from "../../components/RolloutEditor";
import { AudienceClauses, audienceDrafts, toAudience } from "./AudienceLayer";
import { currentPhase } from "./PhaseNotice";

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The POST .../phases body: only what differs from the running plan, or an error on traffic (checked before sending). */
export function phaseChanges(x: Experiment, traffic: string, weights: number[], audience: ClauseDraft[]): { body: NewPhase } | { error: ApiError } {
  const body: NewPhase = {};
  const bp = parsePercent(traffic);
  if (Number.isNaN(bp) || bp < 1 || bp > TOTAL) return { error: new ApiError(422, "invalid", "must be a percentage from 0.01 to 100", "traffic") };
  if (bp !== x.traffic) body.traffic = bp;
  if (weights.some((w, i) => w !== x.weights[i]?.weight)) body.weights = x.weights.map((w, i) => ({ variant: w.variant, weight: weights[i] }));
  const a = toAudience(audience);
  if (!same(a, toAudience(audienceDrafts(x.audience)))) body.audience = a;
  return { body };
}

/**
 * Changes a running experiment's traffic, weights or audience: the API ends
 * the current phase and starts the next one with the new plan (POST .../phases).
 */
export function NewPhaseDialog({ x, names, onCancel, onDone }: { x: Experiment; names: Record<string, string>; onCancel: () => void; onDone: (x: Experiment) => void }) {
  const ws = useWorkspace();
  const headId = useId();
  const attributes = useApi((s) => tapi.attributes(ws.project, x.environment, s), [ws.project, x.environment]);
  const segments = useApi((s) => tapi.listSegments(ws.project, x.environment, s), [ws.project, x.environment]);
  const [traffic, setTraffic] = useState(percent(x.traffic));
  const [weights, setWeights] = useState(() => x.weights.map((w) => w.weight));
  const [audience, setAudience] = useState<ClauseDraft[]>(() => audienceDrafts(x.audience));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLDivElement>(null);

  const variants: Variant[] = x.weights.map((w) => ({ key: w.variant, name: names[w.variant] ?? w.variant, value: null }));
  const n = currentPhase(x)?.number ?? (x.phases ?? []).length;
  const changes = phaseChanges(x, traffic, weights, audience);
  const unchanged = "body" in changes && Object.keys(changes.body).length === 0;

  const confirm = async () => {
    if ("error" in changes) return setError(changes.error);
    setBusy(true);
    setError(undefined);
    try {
      onDone(await xapi.newPhase(ws.project, x.key, changes.body));
    } catch (e) {
      setError(e);
      setBusy(false);
      requestAnimationFrame(() => focusPath(e, ref.current ?? document));
    }
  };

  const placed = placeError(error, "audience", true) !== undefined || fieldError(error, "traffic") !== undefined || fieldError(error, "weights", { prefix: true }) !== undefined;
  return (
    <Modal
      title={`Change the plan of “${x.name}” (new phase)`}
      onClose={() => !busy && onCancel()}
      wide
      footer={
        <>
          <button type="button" className="btn" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" onClick={() => void confirm()} disabled={busy || unchanged}>
            {busy ? "Working…" : `Start phase ${n + 1}`}
          </button>
        </>
      }
    >
      <div ref={ref}>
        <p>
          Confirming ends phase {n} now and starts phase {n + 1} with the plan below; results then default to phase {n + 1} (earlier phases stay
          available in the analysis window). Only what you change is sent; the rest stays.
        </p>
        {!placed && <ErrorBanner error={error} />}
        <Field label="Traffic (% of users who enter)" field="traffic" error={fieldError(error, "traffic")} hint={`Now ${percent(x.traffic)}%.`}>
          <input inputMode="decimal" value={traffic} disabled={busy} onChange={(e) => setTraffic(e.target.value)} />
        </Field>
        <RolloutEditor
          legend="Variant weights"
          field="weights"
          variants={variants}
          value={weights}
          onChange={setWeights}
          disabled={busy}
          error={fieldError(error, "weights", { prefix: true })}
        />
        <section aria-labelledby={`${headId}-aud`}>
          <h3 id={`${headId}-aud`} className="small-heading">
            Audience
          </h3>
          <AudienceClauses
            audience={audience}
            onAudience={setAudience}
            error={error}
            attributes={attributes.data?.attributes}
            segments={(segments.data?.segments ?? []).map((s) => ({ key: s.key, name: s.name }))}
            disabled={busy}
          />
        </section>
        {unchanged && <p className="muted small">Change the traffic, weights or audience to start a new phase.</p>}
      </div>
    </Modal>
  );
}
