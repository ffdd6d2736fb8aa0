import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, request, setCsrfToken, withQuery } from "./client";

afterEach(() => vi.unstubAllGlobals());

describe("request", () => {
  it("turns the API error body into an ApiError", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => new Response(JSON.stringify({ error: { code: "version_conflict", message: "changed", current: { version: 7 } } }), { status: 409 })),
    );
    const err = await request<never>("PATCH", "/x", {}).catch((e: ApiError) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(409);
    expect(err.isConflict).toBe(true);
    expect(err.current).toEqual({ version: 7 });
  });

  it("keeps the field of a 422", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ error: { code: "invalid", message: "is required", field: "name" } }), { status: 422 })));
    const err = await request<never>("POST", "/x", {}).catch((e: ApiError) => e);
    expect(err.field).toBe("name");
    expect(err.message).toBe("is required");
  });

  it("explains a network failure and a non-JSON error", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    expect((await request<never>("GET", "/x").catch((e: ApiError) => e)).message).toMatch(/Cannot reach/);
    vi.stubGlobal("fetch", vi.fn(async () => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" })));
    const err = await request<never>("GET", "/x").catch((e: ApiError) => e);
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/502/);
  });

  it("sends JSON with the session's CSRF token on changes", async () => {
    const fetch = vi.fn(async (..._args: unknown[]) => new Response("{}", { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    setCsrfToken("csrf-1");
    await request<never>("POST", "/projects/default/flags", { key: "a" });
    const [url, init] = fetch.mock.calls[0] as [string, RequestInit];
    expect(url).toBe("/api/v1/projects/default/flags");
    expect((init.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
    expect((init.headers as Record<string, string>)["X-CSRF-Token"]).toBe("csrf-1");
    expect(init.body).toBe('{"key":"a"}');
    await request<never>("GET", "/projects");
    expect((fetch.mock.calls[1][1] as RequestInit).headers as Record<string, string>).not.toHaveProperty("X-CSRF-Token");
    setCsrfToken("");
  });

  it("builds query strings without empty values", () => {
    expect(withQuery("/f", { q: "a b", tag: "", archived: false, limit: 10 })).toBe("/f?q=a+b&limit=10");
    expect(withQuery("/f", { archived: true })).toBe("/f?archived=true");
  });
});
