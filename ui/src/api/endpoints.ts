// One function per management API route the dashboard uses.
import { http, request } from "./client";
import type {
  Assignment,
  CreateFlag,
  Environment,
  Flag,
  FlagEvent,
  FlagState,
  Page,
  Project,
  SDKKey,
  UpdateFlag,
  UpdateState,
} from "./types";

const e = encodeURIComponent;
const proj = (p: string) => `/projects/${e(p)}`;
const flag = (p: string, f: string) => `${proj(p)}/flags/${e(f)}`;
const flagEnv = (p: string, f: string, env: string) => `${flag(p, f)}/environments/${e(env)}`;

export interface FlagQuery {
  q?: string;
  tag?: string;
  archived?: boolean;
  cursor?: string;
  limit?: number;
}

export interface EventQuery {
  flag?: string;
  environment?: string;
  type?: string;
  actor?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit?: number;
}

export const api = {
  listProjects: (signal?: AbortSignal) => http.get<Page<Project>>("/projects", undefined, signal),
  listEnvironments: (p: string, signal?: AbortSignal) => http.get<Page<Environment>>(`${proj(p)}/environments`, undefined, signal),

  listFlags: (p: string, q: FlagQuery, signal?: AbortSignal) =>
    http.get<Page<Flag>>(`${proj(p)}/flags`, { ...q }, signal),
  getFlag: (p: string, f: string, signal?: AbortSignal) => http.get<Flag>(flag(p, f), undefined, signal),
  createFlag: (p: string, body: CreateFlag) => http.post<Flag>(`${proj(p)}/flags`, body),
  updateFlag: (p: string, f: string, body: UpdateFlag) => http.patch<Flag>(flag(p, f), body),
  archiveFlag: (p: string, f: string) => http.post<Flag>(`${flag(p, f)}/archive`),
  restoreFlag: (p: string, f: string) => http.post<Flag>(`${flag(p, f)}/restore`),
  updateState: (p: string, f: string, env: string, body: UpdateState) => http.patch<FlagState>(flagEnv(p, f, env), body),

  listAssignments: (p: string, f: string, env: string, cursor?: string, limit = 50, signal?: AbortSignal) =>
    http.get<Page<Assignment>>(`${flagEnv(p, f, env)}/assignments`, { cursor, limit }, signal),
  setAssignments: (p: string, f: string, env: string, assignments: Assignment[]) =>
    http.post<{ changed: number }>(`${flagEnv(p, f, env)}/assignments`, { assignments }),
  removeAssignments: (p: string, f: string, env: string, user_ids: string[]) =>
    http.post<{ changed: number }>(`${flagEnv(p, f, env)}/assignments/remove`, { user_ids }),

  listSDKKeys: (p: string, env: string, signal?: AbortSignal) =>
    http.get<Page<SDKKey>>(`${proj(p)}/environments/${e(env)}/sdk-keys`, undefined, signal),
  createSDKKey: (p: string, env: string, body: { name: string; kind: "server" | "client" }) =>
    http.post<SDKKey>(`${proj(p)}/environments/${e(env)}/sdk-keys`, body),
  revokeSDKKey: (p: string, env: string, id: number) =>
    http.del<SDKKey>(`${proj(p)}/environments/${e(env)}/sdk-keys/${id}`),

  listEvents: (p: string, q: EventQuery, signal?: AbortSignal) =>
    http.get<Page<FlagEvent>>(`${proj(p)}/events`, { ...q }, signal),
};

// ---- experiments, metrics, events connections ----
import type {
  AnalysisSettings,
  Connection,
  Experiment,
  ExposureDay,
  Job,
  Metric,
  NewPhase,
  PowerRequest,
  PowerResponse,
  QueryPreview,
  ResultPoint,
  ResultsPage,
  SaveConnection,
  SaveExperiment,
  SaveMetric,
} from "./experimentTypes";

const conn = (p: string, c: string) => `${proj(p)}/connections/${e(c)}`;
const metric = (p: string, m: string) => `${proj(p)}/metrics/${e(m)}`;
const exp = (p: string, x: string) => `${proj(p)}/experiments/${e(x)}`;

export const xapi = {
  listConnections: (p: string, signal?: AbortSignal) => http.get<Page<Connection>>(`${proj(p)}/connections`, undefined, signal),
  getConnection: (p: string, c: string, signal?: AbortSignal) => http.get<Connection>(conn(p, c), undefined, signal),
  createConnection: (p: string, body: SaveConnection) => http.post<Connection>(`${proj(p)}/connections`, body),
  updateConnection: (p: string, c: string, body: SaveConnection | { statement_timeout_ms: number; is_default: boolean }) =>
    http.put<Connection>(conn(p, c), body),
  deleteConnection: (p: string, c: string) => http.del<void>(conn(p, c)),
  testConnection: (p: string, c: string) => http.post<{ ok: boolean }>(`${conn(p, c)}/test`),

  listMetrics: (p: string, signal?: AbortSignal) => http.get<Page<Metric>>(`${proj(p)}/metrics`, undefined, signal),
  getMetric: (p: string, m: string, signal?: AbortSignal) => http.get<Metric>(metric(p, m), undefined, signal),
  createMetric: (p: string, body: SaveMetric) => http.post<Metric>(`${proj(p)}/metrics`, body),
  updateMetric: (p: string, m: string, body: SaveMetric) => http.put<Metric>(metric(p, m), body),
  deleteMetric: (p: string, m: string) => http.del<void>(metric(p, m)),
  testMetric: (p: string, body: { type: string; sql: string; connection: string; limit?: number }) =>
    http.post<QueryPreview>(`${proj(p)}/metrics/test`, body),

  listExperiments: (p: string, signal?: AbortSignal) => http.get<Page<Experiment>>(`${proj(p)}/experiments`, undefined, signal),
  getExperiment: (p: string, x: string, signal?: AbortSignal) => http.get<Experiment>(exp(p, x), undefined, signal),
  createExperiment: (p: string, body: SaveExperiment) => http.post<Experiment>(`${proj(p)}/experiments`, body),
  updateExperiment: (p: string, x: string, body: SaveExperiment) => http.put<Experiment>(exp(p, x), body),
  deleteExperiment: (p: string, x: string) => http.del<void>(exp(p, x)),
  startExperiment: (p: string, x: string) => http.post<Experiment>(`${exp(p, x)}/start`),
  stopExperiment: (p: string, x: string, ship?: string) => http.post<Experiment>(`${exp(p, x)}/stop`, ship ? { ship } : {}),
  newPhase: (p: string, x: string, body: NewPhase) => http.post<Experiment>(`${exp(p, x)}/phases`, body),
  refreshResults: (p: string, x: string) => http.post<Job>(`${exp(p, x)}/refresh`),
  results: (p: string, x: string, limit = 10, signal?: AbortSignal) => http.get<ResultsPage>(`${exp(p, x)}/results`, { limit }, signal),
  refreshExposures: (p: string, x: string) => http.post<Job>(`${exp(p, x)}/exposures/refresh`),
  exposures: (p: string, x: string, signal?: AbortSignal) => http.get<{ items: ExposureDay[] }>(`${exp(p, x)}/exposures`, undefined, signal),
  resultsOverTime: (p: string, x: string, signal?: AbortSignal) => http.get<{ items: ResultPoint[] }>(`${exp(p, x)}/results/over-time`, undefined, signal),
  analysisSettings: (p: string, x: string, signal?: AbortSignal) => http.get<AnalysisSettings>(`${exp(p, x)}/analysis-settings`, undefined, signal),
  saveAnalysisSettings: (p: string, x: string, body: Partial<AnalysisSettings>) => http.put<AnalysisSettings>(`${exp(p, x)}/analysis-settings`, body),
  power: (p: string, body: PowerRequest, signal?: AbortSignal) => request<PowerResponse>("POST", `${proj(p)}/power`, body, signal),
};

// ---- targeting (issue 11): rules, prerequisites, segments, attributes, evaluate ----
import type {
  AttributeSuggestion,
  Evaluation,
  FlagTargeting,
  SaveSegment,
  Segment,
  SegmentSummary,
  UpdateTargeting,
} from "./types";

const envPath = (p: string, env: string) => `${proj(p)}/environments/${e(env)}`;
const segment = (p: string, env: string, s: string) => `${envPath(p, env)}/segments/${e(s)}`;

export const tapi = {
  getTargeting: (p: string, f: string, env: string, signal?: AbortSignal) => http.get<FlagTargeting>(`${flagEnv(p, f, env)}/targeting`, undefined, signal),
  updateTargeting: (p: string, f: string, env: string, body: UpdateTargeting) => http.put<FlagTargeting>(`${flagEnv(p, f, env)}/targeting`, body),

  listSegments: (p: string, env: string, signal?: AbortSignal) => http.get<{ segments: SegmentSummary[] }>(`${envPath(p, env)}/segments`, undefined, signal),
  getSegment: (p: string, env: string, s: string, signal?: AbortSignal) => http.get<Segment>(segment(p, env, s), undefined, signal),
  createSegment: (p: string, env: string, body: SaveSegment) => http.post<Segment>(`${envPath(p, env)}/segments`, body),
  updateSegment: (p: string, env: string, s: string, body: SaveSegment) => http.put<Segment>(segment(p, env, s), body),
  deleteSegment: (p: string, env: string, s: string) => http.del<void>(segment(p, env, s)),

  attributes: (p: string, env: string, signal?: AbortSignal) =>
    http.get<{ attributes: AttributeSuggestion[] }>(`${envPath(p, env)}/attributes`, undefined, signal),
  evaluate: (p: string, env: string, flagKey: string, context: Record<string, unknown>) =>
    http.post<Evaluation>(`${envPath(p, env)}/evaluate`, { flag: flagKey, context }),
};

// ---- safe rollouts (issue 14) ----
import type {
  NotificationWebhook,
  RolloutAction,
  SafeRollout,
  SaveNotificationWebhook,
  SaveSafeRollout,
  UpdateSafeRollout,
  WebhookTestResult,
} from "./safeRolloutTypes";

const rollout = (p: string, r: string) => `${proj(p)}/safe-rollouts/${e(r)}`;

export const rapi = {
  listSafeRollouts: (p: string, flagKey?: string, signal?: AbortSignal) =>
    http.get<Page<SafeRollout>>(`${proj(p)}/safe-rollouts`, flagKey ? { flag: flagKey } : undefined, signal),
  getSafeRollout: (p: string, r: string, signal?: AbortSignal) => http.get<SafeRollout>(rollout(p, r), undefined, signal),
  createSafeRollout: (p: string, body: SaveSafeRollout) => http.post<SafeRollout>(`${proj(p)}/safe-rollouts`, body),
  safeRolloutAction: (p: string, r: string, action: RolloutAction, reason?: string) =>
    http.post<SafeRollout>(`${rollout(p, r)}/${action}`, reason ? { reason } : {}),
  updateSafeRollout: (p: string, r: string, body: UpdateSafeRollout) => http.patch<SafeRollout>(rollout(p, r), body),
  listNotificationWebhooks: (p: string, signal?: AbortSignal) =>
    http.get<Page<NotificationWebhook>>(`${proj(p)}/notification-webhooks`, undefined, signal),
  createNotificationWebhook: (p: string, body: SaveNotificationWebhook) =>
    http.post<NotificationWebhook>(`${proj(p)}/notification-webhooks`, body),
  updateNotificationWebhook: (p: string, id: number, body: Partial<SaveNotificationWebhook>) =>
    http.patch<NotificationWebhook>(`${proj(p)}/notification-webhooks/${id}`, body),
  deleteNotificationWebhook: (p: string, id: number) => http.del<void>(`${proj(p)}/notification-webhooks/${id}`),
  testNotificationWebhook: (p: string, id: number) => http.post<WebhookTestResult>(`${proj(p)}/notification-webhooks/${id}/test`, {}),
};
