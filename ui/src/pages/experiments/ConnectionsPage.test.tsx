import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ConnectionsPage } from "./ConnectionsPage";
import { mockFetch, on, renderPage } from "../../test/helpers";

afterEach(() => vi.unstubAllGlobals());

const list = on("GET", /\/connections$/, 200, {
  items: [
    { key: "builtin", name: "Built-in", kind: "builtin", has_password: false, exposures_query: "", statement_timeout_ms: 60000, is_default: true, version: 1, created_at: "", updated_at: "" },
    { key: "ch", name: "Warehouse", kind: "clickhouse", host: "ch.internal", port: 9000, database: "events", user: "reader", ssl_mode: "disable", has_password: true, exposures_query: "SELECT 1", statement_timeout_ms: 60000, is_default: false, version: 1, created_at: "", updated_at: "" },
  ],
  next_cursor: "",
});

describe("ConnectionsPage", () => {
  it("lists each connection's engine", async () => {
    mockFetch(list);
    renderPage(<ConnectionsPage />, { path: "/p/default/production/connections" });
    expect(await screen.findByText(/ClickHouse \(native protocol\) · reader@ch.internal:9000\/events/)).toBeInTheDocument();
  });

  it("a new ClickHouse connection sends its kind, the port following the engine", async () => {
    const calls = mockFetch(list, on("POST", /\/connections$/, 201, { key: "warehouse", name: "Warehouse", kind: "clickhouse" }));
    renderPage(<ConnectionsPage />, { path: "/p/default/production/connections" });
    await userEvent.click(await screen.findByRole("button", { name: "New connection" }));
    await userEvent.type(screen.getByLabelText("Name"), "Warehouse");
    expect(screen.getByLabelText("Port")).toHaveValue("5432");
    await userEvent.selectOptions(screen.getByLabelText("Engine"), "clickhouse");
    expect(screen.getByLabelText("Port")).toHaveValue("9000");
    await userEvent.selectOptions(screen.getByLabelText("Engine"), "mysql");
    expect(screen.getByLabelText("Port")).toHaveValue("3306");
    await userEvent.selectOptions(screen.getByLabelText("Engine"), "clickhouse");
    await userEvent.type(screen.getByLabelText("Host"), "ch.internal");
    await userEvent.type(screen.getByLabelText("Database"), "events");
    await userEvent.type(screen.getByLabelText("User"), "reader");
    await userEvent.type(screen.getByLabelText("Exposures query"), "SELECT experiment_key, user_id, variant, ts AS timestamp FROM exposures");
    await userEvent.click(screen.getByRole("button", { name: /Save|Create/ }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const body = calls.find((c) => c.method === "POST")!.body as Record<string, unknown>;
    expect(body.kind).toBe("clickhouse");
    expect(body.port).toBe(9000);
    expect(body.host).toBe("ch.internal");
  });
});
