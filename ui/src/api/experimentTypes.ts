// JSON shapes of the experiments API (internal/model/experiments.go,
// internal/model/experiment_requests.go, internal/analysis, internal/stats).
import type { Clause, Layer, Weight } from "./types";

export interface Connection {
  key: string;
  name: string;
  /** "builtin" for Waypost's own events store, else the engine: "postgres", "clickhouse" or "mysql". */
  kind: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  has_password: boolean;
  ssl_mode?: string;
  exposures_query: string;
  statement_timeout_ms: number;
  is_default: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

/** Engines an events connection can use, with their default ports. */
export const CONNECTION_KINDS = [
  { kind: "postgres", label: "PostgreSQL", port: 5432 },
  { kind: "clickhouse", label: "ClickHouse (native protocol)", port: 9000 },
  { kind: "mysql", label: "MySQL / MariaDB", port: 3306 },
] as const;

export interface SaveConnection {
  key: string;
  name: string;
  /** The engine (default "postgres"). */
  kind?: string;
  host: string;
  port: number;
  database: string;
  user: string;
  /** On update: absent keeps the stored password, "" removes it. */
  password?: string;
  ssl_mode: string;
  exposures_query: string;
  statement_timeout_ms: number;
  is_default: boolean;
}

export type MetricType = "binomial" | "count" | "duration" | "revenue";
export const METRIC_TYPES: MetricType[] = ["binomial", "count", "duration", "revenue"];

export interface Cap {
  kind: "value" | "percentile";
  value: number;
}

export interface Metric {
  key: string;
  name: string;
  description: string;
  type: MetricType;
  sql: string;
  connection: string;
  conversion_window_hours: number | null;
  direction: "higher" | "lower";
  cap: Cap | null;
  denominator?: Denominator | null;
  guardrail: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface SaveMetric {
  key: string;
  name: string;
  description: string;
  type: MetricType;
  sql: string;
  connection: string;
  conversion_window_hours: number | null;
  direction: "higher" | "lower";
  cap: Cap | null;
  /** Makes it a ratio metric: Σ sql / Σ denominator per variant. */
  denominator?: Denominator | null;
  guardrail: boolean;
}

export interface Denominator {
  type: "count" | "duration" | "revenue";
  sql: string;
}

export interface QueryPreview {
  ok: boolean;
  problems: string[];
  columns: string[];
  rows: unknown[][];
  duration_ms: number;
}

export type ExperimentStatus = "draft" | "running" | "stopped";

export interface Experiment {
  key: string;
  name: string;
  hypothesis: string;
  flag: string;
  environment: string;
  connection: string;
  weights: Weight[];
  /** Basis points of users who enter the experiment. */
  traffic: number;
  primary_metrics: string[];
  secondary_metrics: string[];
  planned_duration_days: number | null;
  planned_sample_size: number | null;
  minimum_detectable_effect: number | null;
  status: ExperimentStatus;
  started_at: string | null;
  stopped_at: string | null;
  shipped_variant: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  /** Oldest first; the last is the current phase. */
  phases?: Phase[];
  /** Whether the flag is on in the experiment's environment. */
  flag_enabled?: boolean;
  /** Stop responses: what the environment serves now, in words. */
  outcome?: string;
  /** Only contexts matching every clause may enter; [] or absent: everybody. */
  audience?: Clause[];
  /** Mutually exclusive with the other experiments of the layer. */
  layer?: Layer | null;
}

/** A period of an experiment with a fixed plan. */
export interface Phase {
  number: number;
  weights: Weight[];
  traffic: number;
  /** Who may enter during the phase (the experiment's audience then); [] or absent: everybody. */
  audience?: Clause[];
  started_at: string;
  started_by: string;
  ended_at: string | null;
  ended_by: string | null;
  end_reason: "new_phase" | "stopped" | "shipped" | null;
  /** Set when the kill switch turned the flag off during the phase. */
  interrupted: { at: string; by: string } | null;
}

/** POST .../phases: ends the running experiment's current phase and starts one with these; a field not given stays. */
export interface NewPhase {
  /** Basis points per variant, summing to 10000. */
  weights?: Weight[];
  /** Basis points of users who enter, 1..10000. */
  traffic?: number;
  audience?: Clause[];
}

export interface SaveExperiment {
  key: string;
  name: string;
  hypothesis: string;
  flag: string;
  environment: string;
  weights: Weight[];
  traffic: number;
  primary_metrics: string[];
  secondary_metrics: string[];
  planned_duration_days: number | null;
  planned_sample_size: number | null;
  minimum_detectable_effect: number | null;
  audience?: Clause[];
  layer?: Layer | null;
}

export interface ExposureDay {
  variant: string;
  day: string;
  new_users: number;
  total_users: number;
  /** A day not over yet (today): counted up to the last count. */
  partial?: boolean;
}

export type StatStatus = "ok" | "insufficient_data" | "one_arm" | "zero_variance" | "zero_control_mean" | "zero_denominator" | "invalid_data";

/** One effect with its test (gbstats conventions). */
export interface Estimate {
  effect: number;
  std_error: number;
  ci?: Interval;
  statistic?: number;
  df?: number;
  p_value?: number;
}

export interface BayesianResult {
  prior: { proper: boolean; mean: number; std_dev: number };
  expected: number;
  std_dev: number;
  chance_to_win: number;
  ci: Interval;
  risk_control: number;
  risk_treatment: number;
}

export interface AnalysisSettings {
  sequential: boolean;
  sequential_tuning: number;
  cuped: boolean;
  cuped_window_days: number;
  bayesian: boolean;
  prior_proper: boolean;
  prior_mean: number;
  prior_std_dev: number;
  correction: "holm-bonferroni" | "benjamini-hochberg";
  /** Exposures-query column to break results down by; "" for none. */
  dimension: string;
}

export interface Interval {
  low: number;
  high: number;
}

export interface VariantSummary {
  variant: string;
  users: number;
  mean?: number;
  variance?: number;
  std_error?: number;
}

export interface Comparison {
  variant: string;
  control: string;
  status: StatStatus;
  message?: string;
  test: "welch_t" | "pearson_chi2" | string;
  /** "not_trustworthy" while the sample-ratio check fails; withheld_verdict is then what the test said. */
  verdict: "better" | "worse" | "inconclusive" | "not_trustworthy";
  withheld_verdict?: "better" | "worse" | "inconclusive";
  summary: string;
  absolute_effect?: number;
  absolute_ci?: Interval;
  relative_effect?: number;
  relative_ci?: Interval;
  statistic?: number;
  df?: number;
  p_value?: number;
  significant: boolean;
  method?: "fixed" | "sequential";
  relative?: Estimate;
  absolute?: Estimate;
  absolute_p_value?: number;
  sequential?: { tuning_parameter: number; relative?: Estimate; absolute?: Estimate };
  bayesian?: BayesianResult;
  chi_squared?: { statistic: number; p_value: number; min_expected: number; fisher_p_value?: number; small_sample: boolean };
  cuped?: { theta: number; variance_reduction: number; applied: boolean; message?: string };
  warnings?: string[];
}

export interface SRMResult {
  status: StatStatus;
  message?: string;
  observed: number[];
  expected?: number[];
  chi_squared?: number;
  df?: number;
  p_value?: number;
  mismatch: boolean;
  threshold: number;
}

export interface StatResult {
  metric_type: MetricType;
  direction: "higher" | "lower";
  confidence: number;
  control: string;
  status: StatStatus;
  message?: string;
  variants: VariantSummary[];
  comparisons: Comparison[];
}

export interface MetricResult {
  key: string;
  name: string;
  primary: boolean;
  guardrail: boolean;
  excluded_users: number;
  result: StatResult;
  adjusted_p_values?: Record<string, number> | null;
  adjusted?: Record<string, { holm_p_value: number; holm_ci: Interval | null; bh_p_value: number; bh_ci: Interval | null }> | null;
  /** Set when the metric could not be analysed (NaN in the events, an all-zero denominator...). */
  error?: string;
  /** Breakdown by the experiment's dimension: most common values first, then "(other)". */
  dimensions?: { value: string; excluded_users: number; result: StatResult }[];
}

export interface SampleSize {
  status: StatStatus;
  message?: string;
  users_per_variant?: number;
  remaining_users_per_variant?: number;
}

export interface PowerSummary {
  metric: string;
  minimum_detectable_effect?: number;
  sample_size: SampleSize;
  users_per_day?: number;
  expected_end?: string;
  message?: string;
}

export interface Results {
  analysis_end: string;
  control: string;
  users: Record<string, number>;
  excluded_users: number;
  srm?: SRMResult;
  /** Set while the sample-ratio check fails: why every verdict is "not_trustworthy". */
  verdicts_withheld?: string;
  metrics: MetricResult[];
  power?: PowerSummary;
  multiple_comparisons: string;
  warnings: string[];
  computed_in: Record<string, string>;
}

export interface Refresh {
  id: number;
  job_id: number | null;
  status: "running" | "succeeded" | "failed" | string;
  error_code: string | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  inputs: unknown;
  statements: unknown;
  results?: Results;
  progress?: RefreshProgress;
}

/** Metric statements of a refresh done out of total. */
export interface RefreshProgress {
  done: number;
  total: number;
}

/** GET .../refreshes/{job_id}. */
export interface RefreshStatus {
  job_id: number;
  state: "queued" | "running" | "succeeded" | "failed";
  error?: string;
  refresh: Refresh | null;
  progress?: RefreshProgress;
  duration_ms?: number;
  results?: Results;
}

export interface ResultsPage {
  latest: Refresh | null;
  history: Refresh[];
}

export interface Job {
  job_id: number;
  duplicate: boolean;
}

export interface PowerRequest {
  metric_type: MetricType;
  baseline_mean: number;
  baseline_variance?: number;
  minimum_detectable_effect: number;
  alpha?: number;
  power?: number;
  variants: number;
  users_per_day?: number;
}

export interface PowerResponse {
  sample_size: SampleSize;
  total_users?: number;
  days?: number;
  expected_end?: string;
}

/** One day's cumulative headline effect of a metric for one treatment. */
export interface ResultPoint {
  day: string;
  analysis_end: string;
  refresh_id: number;
  metric: string;
  variant: string;
  method: "fixed" | "sequential";
  status: string;
  relative_effect: number | null;
  relative_ci_low: number | null;
  relative_ci_high: number | null;
  absolute_effect: number | null;
  p_value: number | null;
}
