// Accounts: sign-in, the signed-in user, members, tokens, users, security log.
import { http } from "./client";
import type { Page } from "./types";

export type Role = "viewer" | "editor" | "admin";

export interface User {
  id: number;
  email: string;
  name: string;
  owner: boolean;
  sso?: boolean;
  disabled?: boolean;
  created_at?: string;
  last_login_at?: string | null;
}

export interface Me {
  user: User | null;
  token?: string;
  owner: boolean;
  projects: Record<string, Role>;
  csrf_token?: string;
  sso: boolean;
}

export interface Member {
  user_id: number;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
}

export interface APIToken {
  id: number;
  name: string;
  prefix: string;
  secret?: string;
  kind: "personal" | "service";
  project?: string;
  role?: Role;
  read_only: boolean;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface SecurityEvent {
  id: number;
  at: string;
  type: string;
  actor: string;
  subject: string;
  project: string | null;
  client_addr: string;
  detail: Record<string, unknown>;
}

const e = encodeURIComponent;

export const accounts = {
  me: (signal?: AbortSignal) => http.get<Me>("/auth/me", undefined, signal),
  setupStatus: (signal?: AbortSignal) => http.get<{ needed: boolean; sso: boolean }>("/setup", undefined, signal),
  setup: (body: { token: string; email: string; name: string; password: string }) => http.post<Me>("/setup", body),
  login: (email: string, password: string) => http.post<Me>("/auth/login", { email, password }),
  logout: () => http.post<void>("/auth/logout"),
  logoutEverywhere: () => http.post<{ sessions_ended: number }>("/auth/logout-everywhere"),
  changePassword: (current_password: string, new_password: string) => http.post<void>("/auth/password", { current_password, new_password }),

  listTokens: (signal?: AbortSignal) => http.get<Page<APIToken>>("/auth/tokens", undefined, signal),
  createToken: (body: { name: string; read_only: boolean; project: string }) => http.post<APIToken>("/auth/tokens", body),
  revokeToken: (id: number) => http.del<APIToken>(`/auth/tokens/${id}`),

  listMembers: (p: string, signal?: AbortSignal) => http.get<Page<Member>>(`/projects/${e(p)}/members`, undefined, signal),
  setMember: (p: string, email: string, role: Role) => http.put<Member>(`/projects/${e(p)}/members`, { email, role }),
  removeMember: (p: string, userID: number) => http.del<void>(`/projects/${e(p)}/members/${userID}`),

  listUsers: (signal?: AbortSignal) => http.get<Page<User>>("/users", undefined, signal),
  createUser: (body: { email: string; name: string; password: string; owner: boolean }) => http.post<User>("/users", body),
  updateUser: (id: number, body: { disabled?: boolean; owner?: boolean }) => http.patch<User>(`/users/${id}`, body),

  securityEvents: (signal?: AbortSignal) => http.get<Page<SecurityEvent>>("/security-events", { limit: 200 }, signal),
};
