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
}
