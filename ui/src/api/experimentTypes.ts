// JSON shapes of the experiments API (internal/model/experiments.go,
// internal/model/experiment_requests.go, internal/analysis, internal/stats).
import type { Weight } from "./types";

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
  guardrail: boolean;
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
}

export interface ExposureDay {
  variant: string;
  day: string;
  new_users: number;
  total_users: number;
}

export type StatStatus = "ok" | "insufficient_data" | "one_arm" | "zero_variance" | "zero_control_mean" | "invalid_data";

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
  verdict: "better" | "worse" | "inconclusive";
  summary: string;
  absolute_effect?: number;
  absolute_ci?: Interval;
  relative_effect?: number;
  relative_ci?: Interval;
  statistic?: number;
  df?: number;
  p_value?: number;
  significant: boolean;
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
  srm?: SRMResult;
}

export interface MetricResult {
  key: string;
  name: string;
  primary: boolean;
  guardrail: boolean;
  excluded_users: number;
  result: StatResult;
  adjusted_p_values?: Record<string, number> | null;
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
