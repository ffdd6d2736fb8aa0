import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Experiment, ExposureDay, Phase, Results } from "../../api/experimentTypes";
import { ExperimentPage, PlanProgress, RefreshProgressLine, toWindow, windowLabel } from "./ExperimentPage";
import { reconcile, toSeries } from "./ExposuresChart";
import { flag, mockFetch, on, renderPage } from "../../test/helpers";

afterEach(() => vi.unstubAllGlobals());

function experiment(over: Partial<Experiment> = {}): Experiment {
  return {
    key: "checkout",
    name: "Checkout",
    hypothesis: "Green converts better",
    flag: "new-checkout",
    environment: "production",
    connection: "builtin",
    weights: [
      { variant: "off", weight: 5000 },
      { variant: "on", weight: 5000 },
    ],
    traffic: 10000,
    primary_metrics: ["buy"],
    secondary_metrics: [],
    planned_duration_days: 14,
    planned_sample_size: null,
    minimum_detectable_effect: 0.05,
    status: "draft",
    started_at: null,
    stopped_at: null,
    shipped_variant: null,
    version: 1,
    created_at: "2026-11-01T00:00:00Z",
    updated_at: "2026-11-01T00:00:00Z",
    phases: [],
    ...over,
  };
}

/** Phase 1 of experiment(), 50/50 at 100% traffic, current unless over says otherwise. */
function phase(over: Partial<Phase> = {}): Phase {
  return {
    number: 1,
    weights: [
      { variant: "off", weight: 5000 },
      { variant: "on", weight: 5000 },
    ],
    traffic: 10000,
    started_at: "2026-11-01T00:00:00Z",
    started_by: "alice",
    ended_at: null,
    ended_by: null,
    end_reason: null,
    interrupted: null,
    ...over,
  };
}

const empty = { latest: null, history: [] };

function pageMocks(x: Experiment, ...extra: Parameters<typeof mockFetch>) {
  return mockFetch(
    ...extra,
    on("GET", /\/experiments\/checkout$/, 200, x),
    on("GET", /\/flags\/new-checkout$/, 200, flag()),
    on("GET", /\/results\?/, 200, empty),
    on("GET", /\/results\/over-time$/, 200, { items: [] }),
    on("GET", /\/exposures$/, 200, { items: [] }),
    on("GET", /\/analysis-settings$/, 200, { sequential: true, sequential_tuning: 5000, cuped: false, cuped_window_days: 14, bayesian: false, prior_proper: false, prior_mean: 0, prior_std_dev: 0.3, correction: "holm-bonferroni", dimension: "" }),
  );
}

const at = { path: "/p/default/production/experiments/checkout", route: "/p/:project/:env/experiments/:experiment" };

describe("ExperimentPage: drafts", () => {
  it("edits a draft's plan (PUT with every field), flagging the field the server refuses", async () => {
    const x = experiment();
    let puts = 0;
    const calls = pageMocks(x, (c) => {
      if (c.method !== "PUT") return undefined;
      puts++;
      return puts === 1
        ? { status: 422, body: { error: { code: "invalid", message: "must be from 1 to 3650", field: "planned_duration_days", errors: [{ field: "planned_duration_days", message: "must be from 1 to 3650" }] } } }
        : { status: 200, body: { ...x, name: "Checkout v2", planned_duration_days: 21 } };
    });
    renderPage(<ExperimentPage />, at);
    await userEvent.click(await screen.findByRole("button", { name: "Edit draft" }));
    const dialog = screen.getByRole("dialog");
    const days = within(dialog).getByLabelText("Planned duration (days)");
    await userEvent.clear(days);
    await userEvent.type(days, "0");
    await userEvent.click(within(dialog).getByRole("button", { name: "Save draft" }));
    await waitFor(() => expect(within(dialog).getAllByText("must be from 1 to 3650").length).toBeGreaterThan(0));
    expect(days).toHaveAttribute("aria-invalid", "true");
    await userEvent.clear(days);
    await userEvent.type(days, "21");
    const name = within(dialog).getByLabelText("Name");
    await userEvent.clear(name);
    await userEvent.type(name, "Checkout v2");
    await userEvent.click(within(dialog).getByRole("button", { name: "Save draft" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    const put = calls.filter((c) => c.method === "PUT").pop()!;
    expect(put.url).toMatch(/\/experiments\/checkout$/);
    expect(put.body).toMatchObject({ key: "checkout", name: "Checkout v2", flag: "new-checkout", environment: "production", planned_duration_days: 21, primary_metrics: ["buy"], traffic: 10000 });
    expect(await screen.findByRole("heading", { name: /Checkout v2/ })).toBeInTheDocument();
  }, 30000);

  it("duplicates an experiment as a new draft with the same plan", async () => {
    const x = experiment({ status: "stopped", started_at: "2026-11-01T00:00:00Z", stopped_at: "2026-11-10T00:00:00Z" });
    const calls = pageMocks(x, on("POST", /\/experiments$/, 201, { ...x, key: "checkout-copy", status: "draft" }));
    renderPage(<ExperimentPage />, at);
    await userEvent.click(await screen.findByRole("button", { name: "Duplicate" }));
    await userEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Create draft" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toMatchObject({
      key: "checkout-copy",
      name: "Checkout (copy)",
      flag: "new-checkout",
      weights: x.weights,
      primary_metrics: ["buy"],
      planned_duration_days: 14,
      minimum_detectable_effect: 0.05,
    });
  });

  it("deletes a draft after asking; running experiments offer no delete", async () => {
    const calls = pageMocks(experiment(), on("DELETE", /\/experiments\/checkout$/, 204, undefined));
    const { unmount } = renderPage(<ExperimentPage />, at);
    await userEvent.click(await screen.findByRole("button", { name: "Delete draft" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await userEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Delete draft" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE")).toBe(true));
    unmount();
    vi.unstubAllGlobals();
    pageMocks(experiment({ status: "running", started_at: "2026-11-01T00:00:00Z" }));
    renderPage(<ExperimentPage />, at);
    await screen.findByRole("button", { name: "Stop experiment" });
    expect(screen.queryByRole("button", { name: "Delete draft" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Edit draft" })).toBeNull();
  });
});

describe("ExperimentPage: restarting a stopped experiment", () => {
  it("restarts it as a new phase (POST …/start) and then shows it running in phase 2", async () => {
    const phase1 = phase({ ended_at: "2026-11-10T00:00:00Z", ended_by: "alice", end_reason: "stopped" });
    const stopped = experiment({ status: "stopped", started_at: "2026-11-01T00:00:00Z", stopped_at: "2026-11-10T00:00:00Z", phases: [phase1] });
    const restarted = experiment({
      status: "running",
      started_at: "2026-11-01T00:00:00Z",
      version: 2,
      phases: [phase1, { ...phase1, number: 2, started_at: "2026-11-12T00:00:00Z", ended_at: null, ended_by: null, end_reason: null }],
    });
    const calls = pageMocks(stopped, on("POST", /\/experiments\/checkout\/start$/, 200, restarted));
    renderPage(<ExperimentPage />, at);
    expect(await screen.findByRole("heading", { name: /Checkout\s+stopped/ })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Stop experiment" })).toBeNull();

    await userEvent.click(screen.getByRole("button", { name: "Restart as a new phase" }));
    const dialog = screen.getByRole("dialog", { name: "Restart “Checkout” as a new phase?" });
    expect(calls.some((c) => c.method === "POST")).toBe(false);
    await userEvent.click(within(dialog).getByRole("button", { name: "Restart as a new phase" }));

    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    const posts = calls.filter((c) => c.method === "POST");
    expect(posts.map((c) => c.url.replace(/^.*\/api\/v1/, ""))).toEqual(["/projects/default/experiments/checkout/start"]);
    expect(await screen.findByRole("heading", { name: /Checkout\s+running/ })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Stop experiment" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Restart as a new phase" })).toBeNull();
    const phases = within(screen.getByRole("list", { name: "Phases" })).getAllByRole("listitem");
    expect(phases.map((li) => li.textContent)).toEqual([expect.stringMatching(/^Phase 1: .*\(stopped\)$/), expect.stringMatching(/^Phase 2: Off 50% · On 50%, 100% traffic · from .*\(current\)$/)]);
    expect(await screen.findByText("Checkout restarted: phase 2")).toBeInTheDocument();
  });
});

describe("ExperimentPage: refresh progress", () => {
  it("asks the refresh job and shows the metrics done while it runs", async () => {
    let polls = 0;
    pageMocks(
      experiment({ status: "running", started_at: "2026-11-01T00:00:00Z" }),
      on("POST", /\/refresh$/, 202, { job_id: 77, duplicate: false }),
      (c) => {
        if (!/\/refreshes\/77$/.test(c.url)) return undefined;
        polls++;
        return { body: polls < 3 ? { job_id: 77, state: "running", refresh: null, progress: { done: 1, total: 3 }, duration_ms: 900 } : { job_id: 77, state: "succeeded", refresh: null, progress: { done: 3, total: 3 } } };
      },
    );
    renderPage(<ExperimentPage />, at);
    await userEvent.click(await screen.findByRole("button", { name: "Refresh results" }));
    expect(await screen.findByText(/Computing results: 1 of 3 metrics done/, undefined, { timeout: 4000 })).toBeInTheDocument();
    expect(screen.getByLabelText("Refresh progress")).toHaveAttribute("value", "1");
    await waitFor(() => expect(screen.getByText("Results refreshed")).toBeInTheDocument(), { timeout: 6000 });
  }, 15000);

  it("says queued before a worker takes the job", () => {
    render(<RefreshProgressLine status={{ job_id: 1, state: "queued", refresh: null }} seconds={3} />);
    expect(screen.getByText(/Queued, waiting for a worker… 3 s/)).toBeInTheDocument();
  });
});

describe("PlanProgress", () => {
  const now = Date.parse("2026-11-09T12:00:00Z");
  it('shows "Day 9 of 14" while running', () => {
    render(<PlanProgress x={experiment({ status: "running", started_at: "2026-11-01T08:00:00Z", phases: [] })} now={now} />);
    expect(screen.getByTestId("plan-progress")).toHaveTextContent("Day 9 of 14");
  });

  it("warns when the power estimate needs longer than the planned duration", () => {
    const power = { metric: "buy", sample_size: { status: "ok" as const, users_per_variant: 30000 }, users_per_day: 1000 };
    render(<PlanProgress x={experiment({ status: "running", started_at: "2026-11-01T08:00:00Z" })} power={power} now={now} />);
    expect(screen.getByTestId("plan-too-short")).toHaveTextContent("The planned 14 days are shorter than the power estimate");
    expect(screen.getByTestId("plan-too-short")).toHaveTextContent("about 30 days");
  });

  it("no warning when the plan is long enough", () => {
    const power = { metric: "buy", sample_size: { status: "ok" as const, users_per_variant: 10000 }, users_per_day: 1000 };
    render(<PlanProgress x={experiment({ status: "running", started_at: "2026-11-01T08:00:00Z" })} power={power} now={now} />);
    expect(screen.queryByTestId("plan-too-short")).toBeNull();
  });
});

describe("exposures chart against the results", () => {
  const items: ExposureDay[] = [
    { variant: "off", day: "2026-11-29", new_users: 5, total_users: 5 },
    { variant: "on", day: "2026-11-29", new_users: 6, total_users: 6 },
    { variant: "off", day: "2026-11-30", new_users: 3, total_users: 8, partial: true },
    { variant: "on", day: "2026-11-30", new_users: 3, total_users: 9, partial: true },
  ];
  const results = (users: Record<string, number>, excluded = 0): Results => ({
    analysis_end: "2026-11-30T10:00:00Z",
    control: "off",
    users,
    excluded_users: excluded,
    metrics: [],
    multiple_comparisons: "",
    warnings: [],
    computed_in: {},
  });
  it("says when the last point matches the results", () => {
    expect(reconcile(toSeries(items, ["off", "on"]), results({ off: 8, on: 9 }))).toEqual({ matches: true, text: "The last point matches the latest results (off 8, on 9 users)." });
  });
  it("says why they differ", () => {
    const r = reconcile(toSeries(items, ["off", "on"]), results({ off: 7, on: 8 }, 2))!;
    expect(r.matches).toBe(false);
    expect(r.text).toContain("The last point (off 8, on 9 users) differs from the latest results (off 7, on 8)");
    expect(r.text).toContain("exclude 2 users seen in more than one variant");
    expect(r.text).toContain("up to 2026-11-30 10:00 UTC");
  });
});

describe("analysis window", () => {
  it("a draft previews historic data from a chosen start (UTC), labelled as a preview", async () => {
    const calls = pageMocks(experiment(), on("POST", /\/refresh$/, 202, { job_id: 5, duplicate: false }), on("GET", /\/refreshes\/5$/, 200, { job_id: 5, state: "queued", refresh: null }));
    renderPage(<ExperimentPage />, at);
    const button = await screen.findByRole("button", { name: "Preview historic data" });
    expect(button).toBeDisabled();
    await userEvent.type(screen.getByLabelText("Window start (UTC)"), "2026-10-01T00:00");
    expect(button).toBeEnabled();
    await userEvent.click(button);
    await waitFor(() => expect(calls.find((c) => c.method === "POST" && /\/refresh$/.test(c.url))?.body).toEqual({ start: "2026-10-01T00:00:00.000Z" }));
  });

  it("turns a choice into the refresh body and a stored window into words", () => {
    expect(toWindow({ kind: "current", phase: 1, start: "", end: "" })).toBeUndefined();
    expect(toWindow({ kind: "phase", phase: 2, start: "", end: "" })).toEqual({ phase: 2 });
    expect(toWindow({ kind: "explicit", phase: 1, start: "2026-10-01T00:00", end: "2026-10-08T12:30" })).toEqual({ start: "2026-10-01T00:00:00.000Z", end: "2026-10-08T12:30:00.000Z" });
    expect(windowLabel({ preview: true, started_at: "2026-10-01T00:00:00Z", analysis_end: "2026-10-08T00:00:00Z" })).toMatch(/^Preview of historic data from /);
    expect(windowLabel({ window: "phase", phase: 1 })).toBe("");
  });
});

describe("ExperimentPage: changing a running experiment's plan as a new phase", () => {
  const canada = [{ attribute: "country", op: "in" as const, values: ["CA"] }];
  const phase1 = phase({ audience: canada });
  const running = experiment({ status: "running", started_at: "2026-11-01T00:00:00Z", audience: canada, phases: [phase1] });
  const phaseMocks = (...first: Parameters<typeof mockFetch>) =>
    pageMocks(running, ...first, on("GET", /\/attributes$/, 200, { attributes: [{ name: "country", seen: "contexts" }] }), on("GET", /\/segments$/, 200, { segments: [] }));
  const phasePosts = (calls: { method: string; url: string; body: unknown }[]) => calls.filter((c) => c.method === "POST" && /\/experiments\/checkout\/phases$/.test(c.url));

  async function openDialog() {
    await userEvent.click(await screen.findByRole("button", { name: "Change plan (new phase)" }));
    const dialog = screen.getByRole("dialog", { name: "Change the plan of “Checkout” (new phase)" });
    expect(dialog).toHaveTextContent("Confirming ends phase 1 now and starts phase 2");
    expect(dialog).toHaveTextContent("results then default to phase 2");
    return dialog;
  }

  it("sends only the changed audience and shows phase 2 as current with it", async () => {
    const us = [{ attribute: "country", op: "in" as const, values: ["US"] }];
    const next = {
      ...running,
      version: 2,
      audience: us,
      phases: [
        { ...phase1, ended_at: "2026-11-20T00:00:00Z", ended_by: "bob", end_reason: "new_phase" },
        { ...phase1, number: 2, audience: us, started_at: "2026-11-20T00:00:00Z", started_by: "bob" },
      ],
    };
    const calls = phaseMocks(on("POST", /\/phases$/, 200, next));
    renderPage(<ExperimentPage />, at);
    const dialog = await openDialog();
    const c1 = within(dialog).getByRole("group", { name: "Condition 1" });
    await userEvent.click(within(c1).getByRole("button", { name: "Remove value CA" }));
    await userEvent.type(within(c1).getByLabelText("Add a value"), "US{Enter}");
    await userEvent.click(within(dialog).getByRole("button", { name: "Start phase 2" }));

    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(phasePosts(calls).map((c) => c.body)).toEqual([{ audience: [{ attribute: "country", op: "in", values: ["US"] }] }]);
    const phases = within(screen.getByRole("list", { name: "Phases" })).getAllByRole("listitem");
    expect(phases.map((li) => li.textContent)).toEqual([
      expect.stringMatching(/^Phase 1: Off 50% · On 50%, 100% traffic · country is one of CA · from .*\(plan changed\)$/),
      expect.stringMatching(/^Phase 2: Off 50% · On 50%, 100% traffic · country is one of US · from .*\(current\)$/),
    ]);
    expect(within(screen.getByRole("region", { name: "Audience and layer" })).getByText("country is one of US")).toBeInTheDocument();
    expect(await screen.findByText("Checkout: phase 2 started")).toBeInTheDocument();
  });

  it("shows a 422 on audience[0].values[0] at that clause's value and keeps everything typed", async () => {
    const msg = "values[0]: must be a two-letter country code";
    const calls = phaseMocks(on("POST", /\/phases$/, 422, { error: { code: "invalid", message: msg, field: "audience[0].values[0]" } }));
    renderPage(<ExperimentPage />, at);
    const dialog = await openDialog();
    const traffic = within(dialog).getByLabelText("Traffic (% of users who enter)");
    await userEvent.clear(traffic);
    await userEvent.type(traffic, "40");
    const c1 = within(dialog).getByRole("group", { name: "Condition 1" });
    await userEvent.type(within(c1).getByLabelText("Add a value"), "Canada{Enter}");
    await userEvent.click(within(dialog).getByRole("button", { name: "Start phase 2" }));

    const value = within(c1).getByLabelText("Add a value");
    await waitFor(() => expect(value).toHaveAttribute("aria-invalid", "true"));
    expect(value).toHaveAccessibleDescription(msg);
    expect(within(c1).getByRole("alert")).toHaveTextContent(msg);
    expect(within(dialog).getAllByRole("alert")).toHaveLength(1);
    expect(phasePosts(calls).map((c) => c.body)).toEqual([{ traffic: 4000, audience: [{ attribute: "country", op: "in", values: ["CA", "Canada"] }] }]);
    expect(screen.getByRole("dialog")).toBe(dialog);
    expect(traffic).toHaveValue("40");
    expect(within(c1).getByLabelText("Attribute")).toHaveValue("country");
    expect(within(c1).getByRole("button", { name: "Remove value CA" })).toBeInTheDocument();
    expect(within(c1).getByRole("button", { name: "Remove value Canada" })).toBeInTheDocument();
    expect(within(dialog).getByRole("button", { name: "Start phase 2" })).toBeEnabled();
  });

  it("sends traffic 25% as {traffic: 2500}; a 409 is shown as a banner with its message", async () => {
    const refusal = "the experiment is controlled by the safe rollout \"checkout-rollout\"";
    const calls = phaseMocks(on("POST", /\/phases$/, 409, { error: { code: "experiment_running", message: refusal } }));
    renderPage(<ExperimentPage />, at);
    const dialog = await openDialog();
    expect(within(dialog).getByRole("button", { name: "Start phase 2" })).toBeDisabled();
    const traffic = within(dialog).getByLabelText("Traffic (% of users who enter)");
    await userEvent.clear(traffic);
    await userEvent.type(traffic, "25");
    await userEvent.click(within(dialog).getByRole("button", { name: "Start phase 2" }));

    expect(await within(dialog).findByRole("alert")).toHaveTextContent(refusal);
    expect(phasePosts(calls).map((c) => c.body)).toEqual([{ traffic: 2500 }]);
    expect(traffic).toHaveValue("25");
  });
});
