// JSON shapes of the management API (internal/model), snake_case as on the wire.

export type FlagKind = "boolean" | "string" | "number" | "json";

export interface Page<T> {
  items: T[];
  next_cursor: string;
}

export interface Project {
  key: string;
  name: string;
  created_at: string;
  updated_at: string;
}

export interface Environment {
  key: string;
  name: string;
  revision: number;
  /** Only project admins change flags here. */
  protected?: boolean;
  created_at: string;
  updated_at: string;
}

export interface Variant {
  key: string;
  name: string;
  value: unknown;
}

/** One variant's share of a rollout, in basis points (0..10000). */
export interface Weight {
  variant: string;
  weight: number;
}

export interface FlagState {
  environment: string;
  enabled: boolean;
  off_variant: string;
  rollout: Weight[];
  version: number;
  assignment_count: number;
  updated_at: string;
}

export interface Flag {
  key: string;
  name: string;
  description: string;
  tags: string[];
  kind: FlagKind;
  variants: Variant[];
  version: number;
  archived_at: string | null;
  created_at: string;
  updated_at: string;
  environments: FlagState[];
}

export interface Assignment {
  user_id: string;
  variant: string;
  created_at?: string;
}

export interface SDKKey {
  id: number;
  environment: string;
  kind: "server" | "client";
  name: string;
  prefix: string;
  secret?: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export const EVENT_TYPES = [
  "flag_created",
  "flag_updated",
  "flag_archived",
  "flag_restored",
  "flag_toggled",
  "rollout_changed",
  "off_variant_changed",
  "assignment_added",
  "assignment_changed",
  "assignment_removed",
  "experiment_started",
  "experiment_stopped",
  "experiment_phase_changed",
  "experiment_interrupted",
  "rules_changed",
  "prerequisites_changed",
  "segment_created",
  "segment_updated",
  "segment_deleted",
  "safe_rollout_started",
  "safe_rollout_advanced",
  "safe_rollout_paused",
  "safe_rollout_resumed",
  "safe_rollout_rolled_back",
  "safe_rollout_completed",
  "safe_rollout_stages_changed",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export interface FlagEvent {
  id: number;
  flag: string;
  environment: string | null;
  type: EventType;
  actor: string;
  source: string;
  before: unknown;
  after: unknown;
  created_at: string;
}

export interface CreateFlag {
  key: string;
  name: string;
  description: string;
  tags: string[];
  kind: FlagKind;
  variants: Variant[];
}

export interface UpdateFlag {
  version: number;
  name?: string;
  description?: string;
  tags?: string[];
  variants?: Variant[];
}

export interface UpdateState {
  version?: number;
  enabled?: boolean;
  off_variant?: string;
  rollout?: Weight[];
  /** Confirms a rollout change while an experiment runs: its phase ends and a new one starts. */
  new_experiment_phase?: boolean;
}

// ---- targeting (issue 11): rules, prerequisites, segments, "test a context" ----
// Rules and clauses are the SDK wire format of docs/evaluation.md (camelCase
// bucketBy, as the SDKs read it).

/** A clause operator; see OPERATORS in lib/targeting.ts. */
export type Operator =
  | "in"
  | "equals"
  | "contains"
  | "starts_with"
  | "ends_with"
  | "matches"
  | "lt"
  | "lte"
  | "gt"
  | "gte"
  | "semver_eq"
  | "semver_lt"
  | "semver_lte"
  | "semver_gt"
  | "semver_gte"
  | "before"
  | "after"
  | "in_segment"
  | "exists";

export type ClauseValue = string | number | boolean;

/** "attribute op values", optionally negated; in_segment has no attribute, exists no values. */
export interface Clause {
  attribute?: string;
  op: Operator;
  values?: ClauseValue[];
  negate?: boolean;
}

/** A targeting rule: all clauses match → serve variant, or rollout (bucketed by bucketBy, else the targeting key). Segment rules have only id and clauses. */
export interface Rule {
  id: string;
  clauses: Clause[];
  variant?: string;
  rollout?: Weight[];
  bucketBy?: string;
}

export interface Prerequisite {
  flag: string;
  variants: string[];
}

export interface FlagTargeting {
  rules: Rule[];
  prerequisites: Prerequisite[];
  /** The flag state's version (shared with enabled and rollout). */
  version: number;
}

export interface UpdateTargeting {
  rules: Rule[];
  prerequisites: Prerequisite[];
  version?: number;
}

export interface Segment {
  key: string;
  name: string;
  description: string;
  included: string[];
  excluded: string[];
  rules: Rule[];
  version: number;
  created_at: string;
  updated_at: string;
}

export interface SegmentSummary {
  key: string;
  name: string;
  description: string;
  included_count: number;
  excluded_count: number;
  rules: Rule[];
  version: number;
  updated_at: string;
}

export interface SaveSegment {
  key?: string;
  name: string;
  description: string;
  included: string[];
  excluded: string[];
  rules: Rule[];
  version?: number;
}

/** An attribute the rule editor suggests: used in rules/segments/audiences, or seen in evaluated contexts. */
export interface AttributeSuggestion {
  name: string;
  seen: string;
  examples?: string[];
}

/** The answer of POST .../environments/{env}/evaluate. */
export interface Evaluation {
  flag: string;
  value: unknown;
  variant: string;
  reason: string;
  error_code?: string;
  rule_id?: string;
  experiment_key?: string;
  flag_version: number;
  revision: number;
}

/** An experiment's slice [start, end) of a layer's 10000 buckets. */
export interface Layer {
  key: string;
  start: number;
  end: number;
}
