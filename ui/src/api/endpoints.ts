// One function per management API route the dashboard uses.
import { http } from "./client";
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
