import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { FlagSafeRollouts, SafeRolloutPage } from "./SafeRollouts";
import { flag, mockFetch, on, renderPage } from "../../test/helpers";
import type { SafeRollout } from "../../api/safeRolloutTypes";

afterEach(() => vi.unstubAllGlobals());

const g = (over: Record<string, unknown>) => ({ metric: "errors", direction: "lower", threshold: 0, status: "ok", users_control: 8000, users_new: 2000, regression: false, ...over });

const rolledBack: SafeRollout = {
  key: "checkout-v2", name: "checkout-v2", flag: "checkout", environment: "production", experiment: "checkout-v2",
  control_variant: "off", new_variant: "on", stages: [{ percent: 20, min_duration_seconds: 3600, min_sample: 5000 }, { percent: 100 }],
  guardrails: [{ metric: "errors", threshold: 0 }], audience: [], on_regression: "rollback", check_interval_seconds: 900, confidence: 0.95,
  state: "rolled_back", state_reason: "regression at 20%: errors +13.70% (interval +0.47% to +26.93%) is worse than the 0.00% allowed",
  current_stage: 0, percent: 0, stage_started_at: "2026-12-02T01:00:00Z", checks: 2, next_check_at: null,
  started_at: "2026-12-02T01:00:00Z", ended_at: "2026-12-02T01:30:00Z", version: 9,
  decisions: [
    { id: 3, check_number: 2, action: "rollback", automatic: true, from_state: "running", to_state: "rolled_back", from_stage: 0, to_stage: 0,
      reason: "regression at 20%: errors worse", actor: "safe-rollout:checkout-v2", created_at: "2026-12-02T01:30:00Z",
      numbers: { guardrails: [g({ relative_effect: 0.137, ci_low: 0.0047, ci_high: 0.269, regression: true })] } },
    { id: 2, check_number: 1, action: "hold", automatic: true, from_state: "running", to_state: "running", from_stage: 0, to_stage: 0,
      reason: "no regression; waiting", actor: "safe-rollout:checkout-v2", created_at: "2026-12-02T01:15:00Z",
      numbers: { guardrails: [g({ relative_effect: 0.1, ci_low: -0.05, ci_high: 0.25 })] } },
    { id: 1, check_number: null, action: "start", automatic: false, from_state: "draft", to_state: "running", from_stage: 0, to_stage: 0,
      reason: "start by ada@example.com", actor: "ada@example.com", created_at: "2026-12-02T01:00:00Z", numbers: {} },
  ],
};

describe("SafeRolloutPage", () => {
  it("shows the stages, a guardrail tile with the regression, and the reason of every decision", async () => {
    mockFetch(on("GET", /\/safe-rollouts\/checkout-v2$/, 200, rolledBack));
    renderPage(<SafeRolloutPage />, { path: "/p/default/production/safe-rollouts/checkout-v2", route: "/p/:project/:env/safe-rollouts/:rollout" });
    expect(await screen.findByText(/^regression at 20%: errors \+13.70% \(interval/)).toBeInTheDocument();
    const tile = screen.getByRole("group", { name: "Guardrail errors" });
    expect(within(tile).getByText("+13.70%")).toBeInTheDocument();
    expect(within(tile).getByText(/Regression: the interval lies entirely beyond the threshold/)).toBeInTheDocument();
    expect(within(tile).getByRole("img", { name: /over 2 checks/ })).toBeInTheDocument();
    expect(screen.getByText("regression at 20%: errors worse")).toBeInTheDocument();
    expect(screen.getAllByText("safe-rollout:checkout-v2")).toHaveLength(2);
    // A rolled-back rollout offers no controls.
    expect(screen.queryByRole("button", { name: /Roll back now|Pause/ })).not.toBeInTheDocument();
  });

  it("shows the audience, and who keeps the control variant", async () => {
    mockFetch(on("GET", /\/safe-rollouts\/checkout-v2$/, 200, { ...rolledBack, audience: [{ attribute: "country", op: "in", values: ["CA", "MX"] }, { attribute: "plan", op: "in", values: ["free"], negate: true }] }));
    renderPage(<SafeRolloutPage />, { path: "/p/default/production/safe-rollouts/checkout-v2", route: "/p/:project/:env/safe-rollouts/:rollout" });
    const a = await screen.findByLabelText("Audience");
    expect(a).toHaveTextContent(/^Audience: country is one of CA, MX and plan not is one of free \(everyone else keeps off\)$/);
  });

  it("says everybody takes part without an audience", async () => {
    mockFetch(on("GET", /\/safe-rollouts\/checkout-v2$/, 200, rolledBack));
    renderPage(<SafeRolloutPage />, { path: "/p/default/production/safe-rollouts/checkout-v2", route: "/p/:project/:env/safe-rollouts/:rollout" });
    expect(await screen.findByLabelText("Audience")).toHaveTextContent("Audience: everybody with a targeting key");
  });

  it("pauses a running rollout", async () => {
    const running = { ...rolledBack, state: "running", state_reason: "started", percent: 20, decisions: [] };
    const calls = mockFetch(on("GET", /\/safe-rollouts\/checkout-v2$/, 200, running),
      on("POST", /\/safe-rollouts\/checkout-v2\/pause$/, 200, { ...running, state: "paused", state_reason: "pause by you" }));
    renderPage(<SafeRolloutPage />, { path: "/p/default/production/safe-rollouts/checkout-v2", route: "/p/:project/:env/safe-rollouts/:rollout" });
    await userEvent.click(await screen.findByRole("button", { name: "Pause" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(await screen.findByRole("button", { name: "Resume" })).toBeInTheDocument();
  });
});

describe("StagesEditor", () => {
  const path = { path: "/p/default/production/safe-rollouts/checkout-v2", route: "/p/:project/:env/safe-rollouts/:rollout" };
  const paused: SafeRollout = {
    ...rolledBack, state: "paused", state_reason: "looking", percent: 20, current_stage: 0, ended_at: null, decisions: [],
    stages: [{ percent: 20, min_duration_seconds: 3600, min_sample: 5000 }, { percent: 50, min_duration_seconds: 600, min_sample: 100 }, { percent: 100 }],
  };

  it("is offered for draft and paused rollouts only", async () => {
    mockFetch(on("GET", /\/safe-rollouts\/checkout-v2$/, 200, { ...paused, state: "running" }));
    renderPage(<SafeRolloutPage />, path);
    expect(await screen.findByRole("button", { name: "Pause" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Edit stages" })).not.toBeInTheDocument();
  });

  it("edits a paused rollout's stages at the version read; the served stage keeps its percent; the API's field error shows at its cell", async () => {
    const calls = mockFetch(
      on("GET", /\/safe-rollouts\/checkout-v2$/, 200, paused),
      (c) =>
        c.method === "PATCH" && (c.body as { stages: { percent: number }[] }).stages[1].percent === 150
          ? { status: 422, body: { error: { code: "invalid", field: "stages[1].percent", message: "must be above 0 and at most 100, got 150" } } }
          : undefined,
      on("PATCH", /\/safe-rollouts\/checkout-v2$/, 200, {
        ...paused, version: 10,
        stages: [{ percent: 20, min_duration_seconds: 7200, min_sample: 5000 }, { percent: 40, min_duration_seconds: 600, min_sample: 100 }, { percent: 100, min_duration_seconds: 0, min_sample: 0 }],
      }),
    );
    renderPage(<SafeRolloutPage />, path);
    await userEvent.click(await screen.findByRole("button", { name: "Edit stages" }));
    expect(screen.getByLabelText("Stage 1 percent")).toHaveAttribute("readonly");
    expect(screen.queryByRole("button", { name: "Remove stage 1" })).not.toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText("Stage 1 minimum duration in minutes"));
    await userEvent.type(screen.getByLabelText("Stage 1 minimum duration in minutes"), "120");
    await userEvent.clear(screen.getByLabelText("Stage 2 percent"));
    await userEvent.type(screen.getByLabelText("Stage 2 percent"), "150");
    await userEvent.click(screen.getByRole("button", { name: "Save stages" }));
    expect(await screen.findByText("must be above 0 and at most 100, got 150")).toBeInTheDocument();
    expect(screen.getByLabelText("Stage 2 percent")).toHaveAttribute("aria-invalid", "true");
    await userEvent.clear(screen.getByLabelText("Stage 2 percent"));
    await userEvent.type(screen.getByLabelText("Stage 2 percent"), "40");
    await userEvent.click(screen.getByRole("button", { name: "Save stages" }));
    await waitFor(() => expect(screen.queryByRole("form", { name: "Edit stages" })).not.toBeInTheDocument());
    const patches = calls.filter((c) => c.method === "PATCH");
    expect(patches).toHaveLength(2);
    expect(patches[1].body).toEqual({
      version: 9,
      stages: [{ percent: 20, min_duration_seconds: 7200, min_sample: 5000 }, { percent: 40, min_duration_seconds: 600, min_sample: 100 }, { percent: 100, min_duration_seconds: 0, min_sample: 0 }],
    });
    expect(screen.getByText("40%")).toBeInTheDocument();
  });
});

describe("AudienceEditor", () => {
  const path = { path: "/p/default/production/safe-rollouts/checkout-v2", route: "/p/:project/:env/safe-rollouts/:rollout" };
  const draft: SafeRollout = { ...rolledBack, state: "draft", state_reason: "", percent: 0, ended_at: null, decisions: [], audience: [{ attribute: "country", op: "in", values: ["CA"] }] };

  it("is offered for drafts only", async () => {
    mockFetch(on("GET", /\/safe-rollouts\/checkout-v2$/, 200, { ...draft, state: "paused" }));
    renderPage(<SafeRolloutPage />, path);
    expect(await screen.findByRole("button", { name: "Resume" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Edit audience" })).not.toBeInTheDocument();
  });

  it("changes a draft's audience with its stages at the version read; the API's clause error shows at the clause", async () => {
    const calls = mockFetch(
      on("GET", /\/safe-rollouts\/checkout-v2$/, 200, draft),
      on("GET", /\/attributes$/, 200, { attributes: [{ name: "country" }] }),
      on("GET", /\/segments$/, 200, { segments: [] }),
      (c) =>
        c.method === "PATCH" && (c.body as { audience: { values?: string[] }[] }).audience[0]?.values?.includes("??")
          ? { status: 422, body: { error: { code: "invalid", field: "audience[0].values[2]", message: "not a country" } } }
          : undefined,
      on("PATCH", /\/safe-rollouts\/checkout-v2$/, 200, { ...draft, version: 10, audience: [{ attribute: "country", op: "in", values: ["CA", "MX"] }] }),
    );
    renderPage(<SafeRolloutPage />, path);
    await userEvent.click(await screen.findByRole("button", { name: "Edit audience" }));
    const c1 = screen.getByRole("group", { name: "Condition 1" });
    await userEvent.type(within(c1).getByLabelText("Add a value"), "MX{Enter}??{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Save audience" }));
    expect(await within(c1).findByText("not a country")).toBeInTheDocument();
    await userEvent.click(within(c1).getByRole("button", { name: "Remove value ??" }));
    await userEvent.click(screen.getByRole("button", { name: "Save audience" }));
    await waitFor(() => expect(screen.queryByRole("form", { name: "Edit audience" })).not.toBeInTheDocument());
    const patches = calls.filter((c) => c.method === "PATCH");
    expect(patches).toHaveLength(2);
    expect(patches[1].body).toEqual({ version: 9, stages: draft.stages, audience: [{ attribute: "country", op: "in", values: ["CA", "MX"] }] });
    expect(screen.getByLabelText("Audience")).toHaveTextContent("country is one of CA, MX");
  });
});

describe("FlagSafeRollouts", () => {
  it("creates and starts a safe rollout with the chosen guardrail and its allowed harm; the API's field errors show", async () => {
    const f = flag({ key: "checkout" });
    const calls = mockFetch(
      on("GET", /\/safe-rollouts\?flag=checkout$/, 200, { items: [], next_cursor: "" }),
      on("GET", /\/metrics$/, 200, { items: [{ key: "errors", name: "Errors", direction: "lower" }], next_cursor: "" }),
      (c) => (c.method === "POST" && (c.body as { stages?: unknown }).stages ? { status: 422, body: { error: { code: "invalid", field: "stages[1].percent", message: "stages must increase" } } } : undefined),
      on("POST", /\/safe-rollouts$/, 201, { ...rolledBack, state: "running", percent: 1 }),
    );
    renderPage(<FlagSafeRollouts flag={f} />);
    await userEvent.click(await screen.findByRole("button", { name: "New safe rollout" }));
    await userEvent.click(await screen.findByLabelText(/Errors/));
    await userEvent.clear(screen.getByLabelText("Allowed harm for errors"));
    await userEvent.type(screen.getByLabelText("Allowed harm for errors"), "2");
    await userEvent.clear(screen.getByLabelText("Stages (% of users)"));
    await userEvent.type(screen.getByLabelText("Stages (% of users)"), "10, 5, 100");
    await userEvent.click(screen.getByRole("button", { name: "Start safe rollout" }));
    expect(await screen.findByText("stages must increase")).toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText("Stages (% of users)"));
    await userEvent.type(screen.getByLabelText("Stages (% of users)"), "1, 5, 25, 50, 100");
    await userEvent.click(screen.getByRole("button", { name: "Start safe rollout" }));
    await waitFor(() => expect(calls.filter((c) => c.method === "POST")).toHaveLength(2));
    const body = calls.filter((c) => c.method === "POST")[1].body as Record<string, unknown>;
    expect(body.guardrails).toEqual([{ metric: "errors", threshold: 0.02 }]);
    expect(body.stages).toBeUndefined();
    expect(body.start).toBe(true);
    expect(body.environment).toBe("production");
  });

  it("creates a draft when not started right away, to edit its stages first", async () => {
    const calls = mockFetch(
      on("GET", /\/safe-rollouts\?flag=checkout$/, 200, { items: [], next_cursor: "" }),
      on("GET", /\/metrics$/, 200, { items: [{ key: "errors", name: "Errors", direction: "lower" }], next_cursor: "" }),
      on("POST", /\/safe-rollouts$/, 201, { ...rolledBack, state: "draft", percent: 0 }),
    );
    renderPage(<FlagSafeRollouts flag={flag({ key: "checkout" })} />);
    await userEvent.click(await screen.findByRole("button", { name: "New safe rollout" }));
    await userEvent.click(await screen.findByLabelText(/Errors/));
    await userEvent.click(screen.getByLabelText(/Start right away/));
    await userEvent.click(screen.getByRole("button", { name: "Create draft" }));
    await waitFor(() => expect(calls.filter((c) => c.method === "POST")).toHaveLength(1));
    expect((calls.find((c) => c.method === "POST")?.body as Record<string, unknown>).start).toBe(false);
  });

  it("limits a new rollout to an audience with the clauses editor; the API's clause error shows at the clause", async () => {
    const calls = mockFetch(
      on("GET", /\/safe-rollouts\?flag=checkout$/, 200, { items: [], next_cursor: "" }),
      on("GET", /\/metrics$/, 200, { items: [{ key: "errors", name: "Errors", direction: "lower" }], next_cursor: "" }),
      on("GET", /\/attributes$/, 200, { attributes: [{ name: "country" }] }),
      on("GET", /\/segments$/, 200, { segments: [{ key: "beta", name: "Beta testers" }] }),
      (c) =>
        c.method === "POST" && (c.body as { audience: { values?: string[] }[] }).audience[0]?.values?.includes("Canada")
          ? { status: 422, body: { error: { code: "invalid", field: "audience[0].values[1]", message: "not a country code we know" } } }
          : undefined,
      on("POST", /\/safe-rollouts$/, 201, { ...rolledBack, state: "running", percent: 1 }),
    );
    renderPage(<FlagSafeRollouts flag={flag({ key: "checkout" })} />);
    await userEvent.click(await screen.findByRole("button", { name: "New safe rollout" }));
    await userEvent.click(await screen.findByLabelText(/Errors/));
    expect(screen.getByText("Everybody with a targeting key takes part.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "+ Add condition" }));
    const c1 = screen.getByRole("group", { name: "Condition 1" });
    await userEvent.type(within(c1).getByLabelText("Attribute"), "country");
    await userEvent.type(within(c1).getByLabelText("Add a value"), "CA{Enter}Canada{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Start safe rollout" }));
    expect(await within(c1).findByText("not a country code we know")).toBeInTheDocument();
    await userEvent.click(within(c1).getByRole("button", { name: "Remove value Canada" }));
    await userEvent.click(screen.getByRole("button", { name: "+ Add condition" }));
    const c2 = screen.getByRole("group", { name: "Condition 2" });
    await userEvent.selectOptions(within(c2).getByLabelText("Operator"), "in_segment");
    await userEvent.selectOptions(within(c2).getByLabelText("Add a segment"), "beta");
    await userEvent.click(screen.getByRole("button", { name: "Start safe rollout" }));
    await waitFor(() => expect(calls.filter((c) => c.method === "POST")).toHaveLength(2));
    const posts = calls.filter((c) => c.method === "POST");
    expect((posts[0].body as Record<string, unknown>).audience).toEqual([{ attribute: "country", op: "in", values: ["CA", "Canada"] }]);
    expect((posts[1].body as Record<string, unknown>).audience).toEqual([
      { attribute: "country", op: "in", values: ["CA"] },
      { op: "in_segment", values: ["beta"] },
    ]);
  });

  it("sends an empty audience (everybody) when no condition is added", async () => {
    const calls = mockFetch(
      on("GET", /\/safe-rollouts\?flag=checkout$/, 200, { items: [], next_cursor: "" }),
      on("GET", /\/metrics$/, 200, { items: [{ key: "errors", name: "Errors", direction: "lower" }], next_cursor: "" }),
      on("GET", /\/attributes$/, 200, { attributes: [] }),
      on("GET", /\/segments$/, 200, { segments: [] }),
      on("POST", /\/safe-rollouts$/, 201, { ...rolledBack, state: "running", percent: 1 }),
    );
    renderPage(<FlagSafeRollouts flag={flag({ key: "checkout" })} />);
    await userEvent.click(await screen.findByRole("button", { name: "New safe rollout" }));
    await userEvent.click(await screen.findByLabelText(/Errors/));
    await userEvent.click(screen.getByRole("button", { name: "Start safe rollout" }));
    await waitFor(() => expect(calls.filter((c) => c.method === "POST")).toHaveLength(1));
    expect((calls.find((c) => c.method === "POST")?.body as Record<string, unknown>).audience).toEqual([]);
  });
});
