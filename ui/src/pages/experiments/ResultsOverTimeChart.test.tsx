import { describe, expect, it } from "vitest";
import { render, screen, within } from "@testing-library/react";
import type { ResultPoint } from "../../api/experimentTypes";
import { ResultsOverTimeChart, toEffectSeries } from "./ResultsOverTimeChart";

const pt = (day: string, variant: string, effect: number | null, low: number | null, high: number | null, metric = "purchase"): ResultPoint => ({
  day,
  analysis_end: `${day}T23:00:00Z`,
  refresh_id: 1,
  metric,
  variant,
  method: "sequential",
  status: "ok",
  relative_effect: effect,
  relative_ci_low: low,
  relative_ci_high: high,
  absolute_effect: null,
  p_value: 0.5,
});

describe("ResultsOverTimeChart", () => {
  const points = [
    pt("2026-03-02", "b", 0.1, -0.2, 0.4),
    pt("2026-03-01", "b", 0.2, -0.5, 0.9),
    pt("2026-03-02", "c", -0.05, -0.1, 0.0),
    pt("2026-03-01", "b", 9, 9, 9, "other"),
  ];

  it("builds day-ordered series per variant of one metric, with gaps as null", () => {
    const s = toEffectSeries(points, "purchase", ["a", "c", "b"]);
    expect(s.days).toEqual(["2026-03-01", "2026-03-02"]);
    expect(s.variants).toEqual(["c", "b"]);
    expect(s.effect).toEqual([
      [null, -0.05],
      [0.2, 0.1],
    ]);
    expect(s.high[1]).toEqual([0.9, 0.4]);
  });

  it("lists each day's effect and interval in its table", () => {
    render(<ResultsOverTimeChart points={points} metric="purchase" name="Purchase" order={["a", "b", "c"]} names={{ b: "Blue" }} />);
    const fig = screen.getByTestId("over-time-purchase");
    expect(within(fig).getByRole("img")).toHaveAccessibleName("Purchase: relative effect over 2 days");
    const table = fig.querySelector("details table") as HTMLElement;
    const row = within(table).getByRole("row", { name: /2026-03-01/ });
    expect(row).toHaveTextContent("+20.0% [-50.0%, +90.0%]");
    expect(within(table).getByRole("columnheader", { name: "Blue" })).toBeInTheDocument();
  });
});
