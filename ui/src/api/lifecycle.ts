// Experiment lifecycle calls (issue 12): refresh job status, and draft
// duplication. Kept apart from endpoints.ts so that file stays add-only.
import { http } from "./client";
import type { Experiment, Job, RefreshStatus, SaveExperiment } from "./experimentTypes";

/** What a refresh analyses: nothing (the current phase), a phase, or a start (and end). */
export interface AnalysisWindow {
  phase?: number;
  start?: string;
  end?: string;
}

const exp = (p: string, x: string) => `/projects/${encodeURIComponent(p)}/experiments/${encodeURIComponent(x)}`;

export const lifecycleApi = {
  /** Starts a refresh (of the current phase, a chosen phase or an explicit window); the job id asks about it. */
  refresh: (p: string, x: string, window?: AnalysisWindow) => http.post<Job>(`${exp(p, x)}/refresh`, window ?? {}),
  /** Where a refresh job is: queued, running (metrics done of total), succeeded or failed. */
  refreshStatus: (p: string, x: string, job: number) => http.get<RefreshStatus>(`${exp(p, x)}/refreshes/${job}`),
  /** A new draft with the same plan as x (flag, environment, weights, traffic, metrics, planning). */
  duplicate: (p: string, x: Experiment, key: string, name: string) =>
    http.post<Experiment>(`/projects/${encodeURIComponent(p)}/experiments`, { ...planOf(x), key, name }),
  /** Replaces a draft's plan (PUT: every field is sent). */
  saveDraft: (p: string, x: Experiment, change: Partial<SaveExperiment>) => http.put<Experiment>(exp(p, x.key), { ...planOf(x), ...change }),
};

/** The request body that recreates x's plan. */
export function planOf(x: Experiment): SaveExperiment {
  return {
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
    // Kept as they are: a PUT without them would clear the audience and layer.
    audience: x.audience ?? [],
    layer: x.layer ?? null,
  };
}

/** Whole days since started (day 1 is the start day itself, as people count). */
export function dayOf(startedAt: string, now: number = Date.now()): number {
  return Math.max(1, Math.floor((now - Date.parse(startedAt)) / 86400000) + 1);
}

/**
 * Days the power estimate needs in all (users needed per variant over the
 * observed users per variant a day), or undefined without an estimate.
 */
export function daysNeeded(usersPerVariant?: number, usersPerDay?: number): number | undefined {
  if (!usersPerVariant || !usersPerDay || !(usersPerDay > 0)) return undefined;
  return Math.ceil(usersPerVariant / usersPerDay);
}
