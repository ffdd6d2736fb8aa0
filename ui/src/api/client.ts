// A small fetch wrapper for the management API under /api/v1 (same origin).
// Every failure becomes an ApiError carrying the API's error body
// ({"error":{"code","message","field","current"}}), so that forms can put
// the message next to the offending field.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string;
  readonly current: unknown;
  /** Every invalid field of the request (error.errors), the first being field/message. */
  readonly fields: { field: string; message: string }[];

  constructor(status: number, code: string, message: string, field = "", current?: unknown, fields?: { field: string; message: string }[]) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
    this.current = current;
    this.fields = fields && fields.length > 0 ? fields : field ? [{ field, message }] : [];
  }

  get isConflict(): boolean {
    return this.status === 409 && this.code === "version_conflict";
  }
}

export const API_BASE = "/api/v1";

let csrfToken = "";

/** Sets the session's CSRF token (from /auth/me or a login), sent on every change. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Fired on window when the API answers 401: the session has ended. */
export const UNAUTHENTICATED_EVENT = "waypost:unauthenticated";

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, q?: Query): string {
  if (!q) return path;
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === "" || v === false) continue;
    sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `${path}?${s}` : path;
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  // Every changing request says JSON, with or without a body: the API
  // answers 415 otherwise (a cross-site form cannot send this header).
  if (body !== undefined || method !== "GET") headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(API_BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "same-origin",
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Cannot reach the Waypost server. Check that the manager is running, then try again.");
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (res.status === 401 && !path.startsWith("/auth/login") && typeof window !== "undefined") {
    window.dispatchEvent(new Event(UNAUTHENTICATED_EVENT));
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string; field?: string; current?: unknown; errors?: { field: string; message: string }[] } } | undefined)
      ?.error;
    throw new ApiError(
      res.status,
      err?.code ?? `http_${res.status}`,
      err?.message ?? `The server answered ${res.status} ${res.statusText}.`,
      err?.field ?? "",
      err?.current,
      err?.errors,
    );
  }
  return data as T;
}

export const http = {
  get: <T>(path: string, q?: Query, signal?: AbortSignal) => request<T>("GET", withQuery(path, q), undefined, signal),
  post: <T>(path: string, body?: unknown) => request<T>("POST", path, body ?? {}),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, body),
  put: <T>(path: string, body: unknown) => request<T>("PUT", path, body),
  del: <T>(path: string) => request<T>("DELETE", path),
};
