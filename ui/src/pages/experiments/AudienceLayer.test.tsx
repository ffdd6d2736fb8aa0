import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { NewExperimentPage } from "./NewExperimentPage";
import { AudienceLayerCard } from "./AudienceLayer";
import { flag, mockFetch, on, renderPage } from "../../test/helpers";

afterEach(() => vi.unstubAllGlobals());

const other = { key: "cart-test", name: "Cart test", environment: "development", status: "running", layer: { key: "checkout", start: 0, end: 5000 } };

function page(...first: Parameters<typeof mockFetch>) {
  return mockFetch(
    ...first,
    on("GET", /\/flags\?/, 200, { items: [flag()], next_cursor: "" }),
    on("GET", /\/flags\/new-checkout$/, 200, flag()),
    on("GET", /\/metrics$/, 200, { items: [], next_cursor: "" }),
    on("GET", /\/experiments$/, 200, { items: [other], next_cursor: "" }),
    on("GET", /\/attributes$/, 200, { attributes: [{ name: "country", seen: "contexts" }] }),
    on("GET", /\/segments$/, 200, { segments: [{ key: "beta-testers", name: "Beta testers", included_count: 1, excluded_count: 0, rules: [], version: 1, updated_at: "" }] }),
    on("POST", /\/power$/, 200, { sample_size: { status: "ok", users_per_variant: 100 }, total_users: 200 }),
  );
}

describe("experiment audience and layer", () => {
  it("sends the audience clauses and the layer range in basis points; shows the layer's other experiments", async () => {
    const calls = page((c) => (c.method === "POST" && /\/experiments$/.test(c.url) ? { status: 201, body: { key: "quote-test" } } : undefined));
    renderPage(<NewExperimentPage />, { path: "/p/default/development/experiments/new?flag=new-checkout", env: "development" });
    await userEvent.type(await screen.findByLabelText("Name"), "Quote test");
    await userEvent.click(screen.getByRole("button", { name: "+ Add condition" }));
    const c1 = screen.getByRole("group", { name: "Condition 1" });
    await userEvent.type(within(c1).getByLabelText("Attribute"), "country");
    await userEvent.type(within(c1).getByLabelText("Add a value"), "CA{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "+ Add condition" }));
    const c2 = screen.getByRole("group", { name: "Condition 2" });
    await userEvent.selectOptions(within(c2).getByLabelText("Operator"), "in_segment");
    await userEvent.selectOptions(within(c2).getByLabelText("Add a segment"), "beta-testers");
    await userEvent.click(screen.getByRole("checkbox", { name: "Mutually exclusive with other experiments in a layer" }));
    await userEvent.type(screen.getByLabelText("Layer key"), "checkout");
    expect(screen.getByText(/Also in layer/)).toHaveTextContent("Also in layer checkout: Cart test 0–50%.");
    await userEvent.clear(screen.getByLabelText("From (% of the layer)"));
    await userEvent.type(screen.getByLabelText("From (% of the layer)"), "50");
    await userEvent.clear(screen.getByLabelText("To (% of the layer)"));
    await userEvent.type(screen.getByLabelText("To (% of the layer)"), "62.5");
    await userEvent.click(screen.getByRole("button", { name: "Create draft experiment" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && /\/experiments$/.test(c.url))).toBe(true));
    const body = calls.find((c) => c.method === "POST" && /\/experiments$/.test(c.url))!.body as Record<string, unknown>;
    expect(body.audience).toEqual([
      { attribute: "country", op: "in", values: ["CA"] },
      { op: "in_segment", values: ["beta-testers"] },
    ]);
    expect(body.layer).toEqual({ key: "checkout", start: 5000, end: 6250 });
  });

  it("an overlapping layer range refused by the server is shown on the layer", async () => {
    page(on("POST", /\/experiments$/, 409, { error: { code: "conflict", message: 'overlaps experiment "cart-test" (0–50%) in layer "checkout"', field: "layer" } }));
    renderPage(<NewExperimentPage />, { path: "/p/default/development/experiments/new?flag=new-checkout", env: "development" });
    await userEvent.type(await screen.findByLabelText("Name"), "Quote test");
    await userEvent.click(screen.getByRole("checkbox", { name: "Mutually exclusive with other experiments in a layer" }));
    await userEvent.type(screen.getByLabelText("Layer key"), "checkout");
    await userEvent.click(screen.getByRole("button", { name: "Create draft experiment" }));
    const layer = screen.getByRole("region", { name: "Layer" });
    expect(await within(layer).findByRole("alert")).toHaveTextContent('overlaps experiment "cart-test"');
  });

  it("an end not above the start is refused before sending", async () => {
    const calls = page();
    renderPage(<NewExperimentPage />, { path: "/p/default/development/experiments/new?flag=new-checkout", env: "development" });
    await userEvent.type(await screen.findByLabelText("Name"), "Quote test");
    await userEvent.click(screen.getByRole("checkbox", { name: "Mutually exclusive with other experiments in a layer" }));
    await userEvent.type(screen.getByLabelText("Layer key"), "checkout");
    await userEvent.clear(screen.getByLabelText("To (% of the layer)"));
    await userEvent.type(screen.getByLabelText("To (% of the layer)"), "0");
    await userEvent.click(screen.getByRole("button", { name: "Create draft experiment" }));
    expect(await screen.findAllByText("must be a percentage above the start, at most 100")).not.toHaveLength(0);
    expect(screen.getByLabelText("To (% of the layer)")).toHaveAttribute("aria-invalid", "true");
    expect(calls.some((c) => c.method === "POST" && /\/experiments$/.test(c.url))).toBe(false);
  });
});

describe("a draft experiment's audience and layer card", () => {
  const x = {
    key: "quote-test", name: "Quote test", hypothesis: "", flag: "new-checkout", environment: "development", connection: "builtin",
    weights: [{ variant: "off", weight: 5000 }, { variant: "on", weight: 5000 }], traffic: 10000, primary_metrics: ["m"], secondary_metrics: [],
    planned_duration_days: 14, planned_sample_size: null, minimum_detectable_effect: 0.05, status: "draft" as const, started_at: null, stopped_at: null,
    shipped_variant: null, version: 2, created_at: "", updated_at: "", audience: [{ attribute: "country", op: "in" as const, values: ["CA"] }], layer: null,
  };

  it("edits the saved audience and sends the whole draft with it; a started one is read-only", async () => {
    const calls = page((c) => (c.method === "PUT" ? { status: 200, body: { ...x, ...(c.body as object), version: 3 } } : undefined));
    const onChange = vi.fn();
    const { unmount } = renderPage(<AudienceLayerCard x={x} onChange={onChange} />, { env: "development" });
    const c1 = await screen.findByRole("group", { name: "Condition 1" });
    expect(within(c1).getByLabelText("Attribute")).toHaveValue("country");
    await userEvent.click(within(c1).getByRole("button", { name: "Remove value CA" }));
    await userEvent.type(within(c1).getByLabelText("Add a value"), "US{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Save audience and layer" }));
    await waitFor(() => expect(onChange).toHaveBeenCalled());
    const body = calls.find((c) => c.method === "PUT")!.body as Record<string, unknown>;
    expect(calls.find((c) => c.method === "PUT")!.url).toMatch(/\/experiments\/quote-test$/);
    expect(body).toMatchObject({ key: "quote-test", weights: x.weights, primary_metrics: ["m"], audience: [{ attribute: "country", op: "in", values: ["US"] }], layer: null });
    unmount();
    renderPage(<AudienceLayerCard x={{ ...x, status: "running", layer: { key: "checkout", start: 0, end: 2500 } }} onChange={onChange} />, { env: "development" });
    expect(screen.getByText("country is one of CA")).toBeInTheDocument();
    expect(screen.getByText(/0–25% of the layer/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Save audience and layer" })).not.toBeInTheDocument();
  });
});
