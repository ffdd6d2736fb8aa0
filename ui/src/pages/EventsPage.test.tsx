import { describe, expect, it } from "vitest";
import { EVENT_LABELS, eventSummary } from "./EventsPage";
import { EVENT_TYPES, type FlagEvent } from "../api/types";

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
