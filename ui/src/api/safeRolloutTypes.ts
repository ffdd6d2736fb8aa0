// Safe rollouts (docs/safe-rollouts.md): the API's shapes.

import type { Clause } from "./types";

export interface Stage {
  percent: number;
  min_duration_seconds?: number;
  min_sample?: number;
}

export interface Guardrail {
  metric: string;
  direction?: "higher" | "lower";
  threshold?: number;
}

export type RolloutState = "draft" | "running" | "paused" | "rolled_back" | "completed";

export interface GuardrailNumbers {
  metric: string;
  direction: string;
  threshold: number;
  status: string;
  message?: string;
  users_control: number;
  users_new: number;
  relative_effect?: number;
  ci_low?: number;
  ci_high?: number;
  regression: boolean;
}

export interface DecisionNumbers {
  stage?: number;
  percent?: number;
  elapsed_seconds?: number;
  min_duration_seconds?: number;
  users_new?: number;
  min_sample?: number;
  srm_p_value?: number;
  srm_mismatch?: boolean;
  guardrails?: GuardrailNumbers[];
  error?: string;
}

export interface RolloutDecision {
  id: number;
  check_number: number | null;
  action: string;
  automatic: boolean;
  from_state: string;
  to_state: string;
  from_stage: number;
  to_stage: number;
  reason: string;
  numbers: DecisionNumbers;
  actor: string;
  created_at: string;
}

export interface SafeRollout {
  key: string;
  name: string;
  flag: string;
  environment: string;
  experiment: string;
  control_variant: string;
  new_variant: string;
  stages: Stage[];
  guardrails: Guardrail[];
  /** Only contexts matching every clause take part; [] for everybody. */
  audience: Clause[];
  on_regression: "rollback" | "pause";
  check_interval_seconds: number;
  confidence: number;
  state: RolloutState;
  state_reason: string;
  current_stage: number;
  percent: number;
  stage_started_at: string | null;
  checks: number;
  next_check_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  /** Sent back when editing the stages (optimistic concurrency). */
  version: number;
  decisions: RolloutDecision[];
}

export interface SaveSafeRollout {
  key: string;
  name?: string;
  flag: string;
  environment: string;
  control_variant: string;
  new_variant: string;
  stages?: Stage[];
  guardrails: Guardrail[];
  /** Limits the rollout; everyone else keeps the control variant. */
  audience?: Clause[];
  on_regression?: "rollback" | "pause";
  check_interval_seconds?: number;
  start?: boolean;
}

export type RolloutAction = "start" | "pause" | "resume" | "advance" | "rollback";

/** PATCH of a draft or paused rollout: its stages, at the version read. */
export interface UpdateSafeRollout {
  version: number;
  stages: Stage[];
  /** A draft's new audience; absent keeps it (a paused rollout's cannot change). */
  audience?: Clause[];
}

/** A project's outgoing notification webhook (never its secret). */
export interface NotificationWebhook {
  id: number;
  url: string;
  created_at: string;
}

export interface SaveNotificationWebhook {
  url: string;
  secret: string;
}

/** What a test notification got back. */
export interface WebhookTestResult {
  status: number;
  delivery: string;
}
