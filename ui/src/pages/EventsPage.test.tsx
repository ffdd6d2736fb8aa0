import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { EVENT_LABELS, EventsPage, eventSummary } from "./EventsPage";
import { EVENT_TYPES, type FlagEvent } from "../api/types";
import { mockFetch, on, renderPage } from "../test/helpers";

afterEach(() => vi.unstubAllGlobals());

const ev = (type: string, before: unknown, after: unknown): FlagEvent =>
  ({ id: 1, flag: "color", environment: "production", type, actor: "alice", source: "api", before, after, created_at: "2026-12-01T10:00:00Z" }) as FlagEvent;

describe("events log: experiment events in words", () => {
  it("every event type the filter offers has a label", () => {
    for (const t of EVENT_TYPES) expect(EVENT_LABELS[t], t).toBeTruthy();
  });

  it("says started, phase changed, interrupted, stopped and shipped with percentages", () => {
    const w = (a: number, b: number) => [{ variant: "red", weight: a }, { variant: "blue", weight: b }];
    expect(eventSummary(ev("experiment_started", { experiment: "x", status: "draft" }, { experiment: "x", status: "running", traffic: 10000, weights: w(5000, 5000) }))).toBe(
      "Started experiment “x”: red 50% · blue 50%, 100% of users",
    );
    expect(
      eventSummary(ev("experiment_phase_changed", { experiment: "x", phase: 1, weights: w(5000, 5000), traffic: 10000 }, { experiment: "x", phase: 2, weights: w(2000, 8000), traffic: 2500 })),
    ).toBe("Experiment “x” phase 1 → 2: red 50% · blue 50%, 100% → red 20% · blue 80%, 25% of users");
    expect(eventSummary(ev("experiment_interrupted", {}, { experiment: "x", phase: 2, enabled: false }))).toBe(
      "Kill switch: experiment “x” phase 2 interrupted (flag turned off)",
    );
    expect(eventSummary(ev("experiment_stopped", {}, { experiment: "x", status: "stopped", shipped_variant: "blue" }))).toBe(
      "Stopped experiment “x” and shipped blue to everyone",
    );
    expect(eventSummary(ev("experiment_stopped", {}, { experiment: "x", status: "stopped", shipped_variant: null }))).toBe("Stopped experiment “x”");
  });
});

describe("events log: targeting events in words", () => {
  it("counts rules and segment ids and names prerequisites", () => {
    const rule = { id: "r", clauses: [], variant: "on" };
    expect(eventSummary(ev("rules_changed", { rules: [rule], version: 3 }, { rules: [rule, rule], version: 4 }))).toBe("Rules: 1 rule → 2 rules");
    expect(eventSummary(ev("prerequisites_changed", { prerequisites: [] }, { prerequisites: [{ flag: "login", variants: ["on", "beta"] }] }))).toBe(
      "Prerequisites: none → login is on or beta",
    );
    expect(eventSummary(ev("segment_created", null, { segment: "beta", included: ["a", "b"], excluded: [], rules: [rule] }))).toBe(
      "Created segment “beta” (2 included ids, 0 excluded ids, 1 rule)",
    );
    expect(
      eventSummary(ev("segment_updated", { segment: "beta", included: ["a"], excluded: [], rules: [] }, { segment: "beta", included: ["a", "b"], excluded: ["c"], rules: [] })),
    ).toBe("Edited segment “beta”: included 1 → 2, excluded 0 → 1, rules 0 → 0");
    expect(eventSummary(ev("segment_deleted", { segment: "beta" }, null))).toBe("Deleted segment “beta”");
  });
});

describe("events log: safe rollout events in words", () => {
  it("says the stage shares and the reason of an automatic decision", () => {
    expect(eventSummary(ev("safe_rollout_advanced", { safe_rollout: "new-checkout", percent: 5 }, { safe_rollout: "new-checkout", percent: 25, reason: "stage 2 met" }))).toBe(
      "Safe rollout “new-checkout” advanced 5% → 25%: stage 2 met",
    );
    expect(
      eventSummary(ev("safe_rollout_rolled_back", { safe_rollout: "new-checkout", percent: 25 }, { safe_rollout: "new-checkout", percent: 25, reason: "errors regressed" })),
    ).toBe("Rolled back safe rollout “new-checkout” (was at 25%): errors regressed");
  });

  it("says the stages before and after an edit, with their minimums", () => {
    const before = { safe_rollout: "new-checkout", stages: [{ percent: 10, min_duration_seconds: 3600, min_sample: 100 }, { percent: 100 }] };
    const after = {
      safe_rollout: "new-checkout",
      stages: [{ percent: 10, min_duration_seconds: 7200, min_sample: 500 }, { percent: 50, min_duration_seconds: 90, min_sample: 0 }, { percent: 100 }],
    };
    expect(eventSummary(ev("safe_rollout_stages_changed", before, after))).toBe(
      "Safe rollout “new-checkout” stages 10% (60 min, 100 users), 100% → 10% (120 min, 500 users), 50% (2 min, 0 users), 100%",
    );
    expect(EVENT_LABELS.safe_rollout_stages_changed).toBe("Safe rollout stages changed");
  });
});

describe("events log page", () => {
  const showEvents = (...items: FlagEvent[]) => {
    mockFetch(on("GET", /\/events(\?|$)/, 200, { items, next_cursor: "" }));
    renderPage(<EventsPage />, { path: "/p/default/production/events" });
  };
  /** The "Show changes" table of the event whose summary is summary, as [field, before, after] rows. */
  const changes = async (summary: string) => {
    const item = (await screen.findByText(summary)).closest("li")!;
    await userEvent.click(within(item).getByRole("button", { name: "Show changes" }));
    const table = within(item).getByRole("table", { name: "Changes" });
    return within(table)
      .getAllByRole("row")
      .slice(1)
      .map((r) => [within(r).getByRole("rowheader").textContent, ...within(r).getAllByRole("cell").map((c) => c.textContent)]);
  };

  it("shows experiment weights and traffic changes in percent, not basis points", async () => {
    const w = (a: number, b: number) => [{ variant: "red", weight: a }, { variant: "blue", weight: b }];
    showEvents(
      { ...ev("experiment_phase_changed", { experiment: "x", phase: 1, weights: w(5000, 5000), traffic: 10000 }, { experiment: "x", phase: 2, weights: w(2000, 8000), traffic: 2500 }), id: 2 },
      { ...ev("experiment_started", { experiment: "x", status: "draft" }, { experiment: "x", status: "running", traffic: 10000, weights: w(5000, 5000) }), id: 1 },
    );
    expect(await changes("Experiment “x” phase 1 → 2: red 50% · blue 50%, 100% → red 20% · blue 80%, 25% of users")).toEqual([
      ["phase", "1", "2"],
      ["weights[red]", "50%", "20%"],
      ["weights[blue]", "50%", "80%"],
      ["traffic", "100%", "25%"],
    ]);
    expect(await changes("Started experiment “x”: red 50% · blue 50%, 100% of users")).toEqual([
      ["status", '"draft"', '"running"'],
      ["traffic", "—", "100%"],
      ["weights", "—", "red 50% · blue 50%"],
    ]);
  });

  it("shows rollout weights, also a rule's, in percent and a safe rollout's percent as is", async () => {
    const r = (off: number, on: number) => [{ variant: "off", weight: off }, { variant: "on", weight: on }];
    showEvents(
      { ...ev("rollout_changed", { rollout: r(10000, 0) }, { rollout: r(7550, 2450) }), id: 3 },
      { ...ev("rules_changed", { rules: [{ id: "staff", clauses: [], rollout: r(5000, 5000) }] }, { rules: [{ id: "staff", clauses: [], rollout: r(0, 10000) }] }), id: 2 },
      { ...ev("safe_rollout_advanced", { safe_rollout: "s", percent: 5 }, { safe_rollout: "s", percent: 25.5 }), id: 1 },
    );
    expect(await changes("Rollout off 100% → off 75.5% · on 24.5%")).toEqual([
      ["rollout[off]", "100%", "75.5%"],
      ["rollout[on]", "0%", "24.5%"],
    ]);
    expect(await changes("Rules: 1 rule → 1 rule")).toEqual([
      ["rules[staff].rollout[off]", "50%", "0%"],
      ["rules[staff].rollout[on]", "50%", "100%"],
    ]);
    expect(await changes("Safe rollout “s” advanced 5% → 25.5%")).toEqual([["percent", "5%", "25.5%"]]);
  });

  it("offers the experiment lifecycle events in the type filter by name", async () => {
    showEvents();
    const type = await screen.findByRole("combobox", { name: "Type" });
    const names = within(type).getAllByRole("option").map((o) => o.textContent);
    expect(names).toEqual(["Any", ...EVENT_TYPES.map((t) => EVENT_LABELS[t])]);
    for (const n of ["Experiment started", "Experiment phase changed", "Experiment interrupted", "Experiment stopped"]) expect(names).toContain(n);
  });
});
