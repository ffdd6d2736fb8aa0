import type { ReactNode } from "react";
import { render } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import { vi } from "vitest";
import { WorkspaceContext, type Workspace } from "../workspace";
import { ToastProvider } from "../components/Toast";
import type { Environment, Flag } from "../api/types";

export const envs: Environment[] = [
  { key: "production", name: "Production", revision: 1, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" },
  { key: "development", name: "Development", revision: 1, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" },
];

export function workspace(env = "production"): Workspace {
  return {
    project: "default",
    env,
    projects: [{ key: "default", name: "Default project", created_at: "", updated_at: "" }],
    environments: envs,
    environment: envs.find((e) => e.key === env)!,
    to: (sub) => `/p/default/${env}/${sub}`,
  };
}

export function flag(over: Partial<Flag> = {}): Flag {
  const state = (environment: string) => ({
    environment,
    enabled: false,
    off_variant: "off",
    rollout: [
      { variant: "off", weight: 0 },
      { variant: "on", weight: 10000 },
    ],
    version: 1,
    assignment_count: 0,
    updated_at: "2026-01-01T00:00:00Z",
  });
  return {
    key: "new-checkout",
    name: "New checkout",
    description: "",
    tags: [],
    kind: "boolean",
    variants: [
      { key: "off", name: "Off", value: false },
      { key: "on", name: "On", value: true },
    ],
    version: 1,
    archived_at: null,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    environments: [state("production"), state("development")],
    ...over,
  };
}

/** Renders ui inside a router (at path, matching route), the workspace and toasts. */
export function renderPage(ui: ReactNode, { path = "/p/default/production/flags", route = "*", env = "production" } = {}) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <ToastProvider>
        <WorkspaceContext.Provider value={workspace(env)}>
          <Routes>
            <Route path={route} element={ui} />
          </Routes>
        </WorkspaceContext.Provider>
      </ToastProvider>
    </MemoryRouter>,
  );
}

export interface Call {
  method: string;
  url: string;
  body: unknown;
}

type Responder = (call: Call) => { status?: number; body?: unknown } | undefined;

/** Replaces fetch: responders are tried in order; the first answer wins; unanswered calls fail the test. */
export function mockFetch(...responders: Responder[]) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const call: Call = {
      method: init?.method ?? "GET",
      url: String(input),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    for (const r of responders) {
      const res = r(call);
      if (res) return new Response(res.body === undefined ? "" : JSON.stringify(res.body), { status: res.status ?? 200, headers: { "Content-Type": "application/json" } });
    }
    throw new Error(`unexpected request ${call.method} ${call.url}`);
  });
  vi.stubGlobal("fetch", fn);
  return calls;
}

export const on = (method: string, re: RegExp, status: number, body: unknown): Responder => (c) =>
  c.method === method && re.test(c.url) ? { status, body } : undefined;
