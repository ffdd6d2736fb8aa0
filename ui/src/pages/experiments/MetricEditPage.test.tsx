import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MetricEditPage } from "./MetricEditPage";
import { mockFetch, on, renderPage } from "../../test/helpers";

afterEach(() => vi.unstubAllGlobals());

const conns = on("GET", /\/connections$/, 200, {
  items: [{ key: "builtin", name: "Built-in", kind: "builtin", has_password: false, exposures_query: "", statement_timeout_ms: 60000, is_default: true, version: 1, created_at: "", updated_at: "" }],
  next_cursor: "",
});

describe("MetricEditPage", () => {
  it("Test query shows the column check and the first rows", async () => {
    const calls = mockFetch(
      conns,
      on("POST", /\/metrics\/test$/, 200, { ok: false, problems: ["missing column timestamp"], columns: ["user_id", "ts"], rows: [["u1", "2026-01-01T00:00:00Z"]], duration_ms: 3 }),
    );
    renderPage(<MetricEditPage />, { path: "/p/default/production/metrics/new" });
    await userEvent.type(screen.getByLabelText("SQL"), "SELECT user_id, ts FROM events");
    await userEvent.click(screen.getByRole("button", { name: "Test query" }));
    expect(await screen.findByText("missing column timestamp")).toBeInTheDocument();
    expect(screen.getByRole("columnheader", { name: "ts" })).toBeInTheDocument();
    expect(screen.getByRole("cell", { name: "u1" })).toBeInTheDocument();
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ type: "binomial", sql: "SELECT user_id, ts FROM events", connection: "", limit: 10 });
  });

  it("the database's message for bad SQL lands on the SQL field", async () => {
    mockFetch(conns, on("POST", /\/metrics$/, 422, { error: { code: "invalid_query", message: 'syntax error at or near "FORM"', field: "sql" } }));
    renderPage(<MetricEditPage />, { path: "/p/default/production/metrics/new" });
    await userEvent.type(screen.getByLabelText("Name"), "Purchases");
    await userEvent.type(screen.getByLabelText("SQL"), "SELECT user_id FORM x");
    await userEvent.click(screen.getByRole("button", { name: "Create metric" }));
    const sql = screen.getByLabelText("SQL");
    await waitFor(() => expect(sql).toHaveAttribute("aria-invalid", "true"));
    expect(sql).toHaveAccessibleDescription(/syntax error at or near "FORM"/);
    expect(screen.getByLabelText("Name")).not.toHaveAttribute("aria-invalid");
    await waitFor(() => expect(sql).toHaveFocus());
  });

  it("sends the options: window, direction, cap, guardrail", async () => {
    const calls = mockFetch(conns, on("POST", /\/metrics$/, 201, { key: "revenue" }), on("GET", /\/metrics$/, 200, { items: [], next_cursor: "" }));
    renderPage(<MetricEditPage />, { path: "/p/default/production/metrics/new" });
    await userEvent.type(screen.getByLabelText("Name"), "Revenue");
    await userEvent.selectOptions(screen.getByLabelText("Type"), "revenue");
    await userEvent.type(screen.getByLabelText("SQL"), "SELECT user_id, timestamp, value FROM orders");
    await userEvent.type(screen.getByLabelText("Conversion window (hours)"), "72");
    await userEvent.selectOptions(screen.getByLabelText("Better when the value is"), "lower");
    await userEvent.selectOptions(screen.getByLabelText("Cap per-user values"), "percentile");
    await userEvent.type(screen.getByLabelText("Cap percentile (0–1)"), "0.99");
    await userEvent.click(screen.getByLabelText(/Guardrail/));
    await userEvent.click(screen.getByRole("button", { name: "Create metric" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({
      key: "revenue",
      name: "Revenue",
      description: "",
      type: "revenue",
      sql: "SELECT user_id, timestamp, value FROM orders",
      connection: "",
      conversion_window_hours: 72,
      direction: "lower",
      cap: { kind: "percentile", value: 0.99 },
      denominator: null,
      guardrail: true,
    });
  });
});
