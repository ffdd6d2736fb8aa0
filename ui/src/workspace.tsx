// The selected project and environment, taken from the URL
// (/p/:project/:env/...), with the lists the header switchers show.
import { createContext, useContext } from "react";
import type { Environment, Project } from "./api/types";

export interface Workspace {
  project: string;
  env: string;
  projects: Project[];
  environments: Environment[];
  environment: Environment;
  /** A path inside the current project and environment: to("flags/x") → /p/default/production/flags/x. */
  to: (sub: string) => string;
}

export const WorkspaceContext = createContext<Workspace | null>(null);

export function useWorkspace(): Workspace {
  const w = useContext(WorkspaceContext);
  if (!w) throw new Error("useWorkspace outside a project page");
  return w;
}

export const base = (project: string, env: string) => `/p/${encodeURIComponent(project)}/${encodeURIComponent(env)}`;

const LAST = "waypost.last";

export function remember(project: string, env: string) {
  try {
    localStorage.setItem(LAST, JSON.stringify({ project, env }));
  } catch {
    /* private mode */
  }
}

export function recall(): { project?: string; env?: string } {
  try {
    return JSON.parse(localStorage.getItem(LAST) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

/** The environment to open when none is chosen: the last used, else production, else the first. */
export function pickEnvironment(envs: Environment[], project: string): string | undefined {
  const last = recall();
  if (last.project === project && last.env && envs.some((e) => e.key === last.env)) return last.env;
  return (envs.find((e) => e.key === "production") ?? envs[0])?.key;
}
