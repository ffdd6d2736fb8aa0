import { useEffect, useState } from "react";
import { xapi } from "../../api/endpoints";
import type { AnalysisSettings } from "../../api/experimentTypes";
import { useApi } from "../../lib/useApi";
import { fieldError } from "../../lib/errors";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";
import { Field } from "../../components/Field";
import { useToast } from "../../components/Toast";

/** How the experiment's results are analysed: sequential testing, CUPED, the Bayesian prior, the correction. */
export function AnalysisSettingsCard({ project, experiment }: { project: string; experiment: string }) {
  const loaded = useApi((s) => xapi.analysisSettings(project, experiment, s), [project, experiment]);
  const [form, setForm] = useState<AnalysisSettings | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [saving, setSaving] = useState(false);
  const toast = useToast();
  useEffect(() => {
    if (loaded.data) setForm(loaded.data);
  }, [loaded.data]);

  if (loaded.error) return <ErrorBanner error={loaded.error} onRetry={loaded.reload} />;
  if (!form) return <Loading />;
  const set = <K extends keyof AnalysisSettings>(k: K, v: AnalysisSettings[K]) => setForm({ ...form, [k]: v });
  const numberInput = (k: "sequential_tuning" | "cuped_window_days" | "prior_mean" | "prior_std_dev", step: string) => (
    <input type="number" step={step} value={Number.isFinite(form[k]) ? form[k] : ""} onChange={(e) => set(k, e.target.valueAsNumber)} />
  );

  async function save(e: React.FormEvent) {
    e.preventDefault();
    if (!form) return;
    setSaving(true);
    setError(undefined);
    try {
      const saved = await xapi.saveAnalysisSettings(project, experiment, form);
      loaded.setData(saved);
      toast("Analysis settings saved; they apply from the next refresh");
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  }

  return (
    <section className="card" aria-labelledby="analysis-title">
      <h2 id="analysis-title">Analysis</h2>
      <form onSubmit={save} noValidate className="form" aria-label="Analysis settings">
        <ErrorBanner error={error} />
        <label className="checkbox">
          <input type="checkbox" checked={form.sequential} onChange={(e) => set("sequential", e.target.checked)} /> Sequential testing
        </label>
        <p className="field-hint" id="sequential-hint">
          With sequential testing you may look at the results as often as you like: the chance of a false winner stays at 5%.
        </p>
        {form.sequential && (
          <Field label="Tuning: total users where the interval is tightest" field="sequential_tuning" error={fieldError(error, "sequential_tuning")}>
            {numberInput("sequential_tuning", "1")}
          </Field>
        )}
        <label className="checkbox">
          <input type="checkbox" checked={form.cuped} onChange={(e) => set("cuped", e.target.checked)} /> CUPED variance reduction
        </label>
        {form.cuped && (
          <Field
            label="Pre-exposure window (days)"
            field="cuped_window_days"
            error={fieldError(error, "cuped_window_days")}
            hint="Each metric's own value in this many days before a user's first exposure is the covariate."
          >
            {numberInput("cuped_window_days", "any")}
          </Field>
        )}
        <label className="checkbox">
          <input type="checkbox" checked={form.bayesian} onChange={(e) => set("bayesian", e.target.checked)} /> Bayesian view (chance to beat control, risk)
        </label>
        {form.bayesian && (
          <>
            <label className="checkbox">
              <input type="checkbox" checked={form.prior_proper} onChange={(e) => set("prior_proper", e.target.checked)} /> Informative prior on the relative
              effect (otherwise flat)
            </label>
            {form.prior_proper && (
              <>
                <Field label="Prior mean (relative, 0.1 = +10%)" field="prior_mean" error={fieldError(error, "prior_mean")}>
                  {numberInput("prior_mean", "any")}
                </Field>
                <Field label="Prior standard deviation" field="prior_std_dev" error={fieldError(error, "prior_std_dev")}>
                  {numberInput("prior_std_dev", "any")}
                </Field>
              </>
            )}
          </>
        )}
        <Field
          label="Break down by (a column of the exposures query)"
          field="dimension"
          error={fieldError(error, "dimension")}
          hint="For example country, browser or plan; empty for no breakdown. The 20 most common values are shown."
        >
          <input type="text" value={form.dimension} onChange={(e) => set("dimension", e.target.value.trim())} placeholder="country" />
        </Field>
        <Field label="Multiple-testing correction" field="correction" error={fieldError(error, "correction")}>
          <select value={form.correction} onChange={(e) => set("correction", e.target.value as AnalysisSettings["correction"])}>
            <option value="holm-bonferroni">Holm–Bonferroni (family-wise error)</option>
            <option value="benjamini-hochberg">Benjamini–Hochberg (false discovery rate)</option>
          </select>
        </Field>
        <div>
          <button type="submit" className="btn" disabled={saving}>
            {saving ? "Saving…" : "Save analysis settings"}
          </button>
        </div>
      </form>
    </section>
  );
}
