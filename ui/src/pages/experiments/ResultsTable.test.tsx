import { describe, expect, it } from "vitest";
import { render, screen, within } from "@testing-library/react";
import type { MetricResult, Results } from "../../api/experimentTypes";
import { ResultsTable, ResultWarnings, ciDomain, scale } from "./ResultsTable";

function metric(over: Partial<MetricResult["result"]> = {}): MetricResult {
  return {
    key: "purchase",
    name: "Purchase",
    primary: true,
    guardrail: false,
    excluded_users: 0,
    adjusted_p_values: { b: 0.004, c: 0.6 },
    result: {
      metric_type: "binomial",
      direction: "higher",
      confidence: 0.95,
      control: "a",
      status: "ok",
      variants: [
        { variant: "a", users: 1000, mean: 0.1 },
        { variant: "b", users: 1010, mean: 0.13 },
        { variant: "c", users: 990, mean: 0.095 },
      ],
      comparisons: [
        {
          variant: "b",
          control: "a",
          status: "ok",
          test: "pearson_chi2",
          verdict: "better",
          summary: "b converts 30.0% better than a (p = 0.002).",
          absolute_effect: 0.03,
          absolute_ci: { low: 0.002, high: 0.058 },
          relative_effect: 0.3,
          relative_ci: { low: 0.1, high: 0.5 },
          p_value: 0.002,
          significant: true,
        },
        {
          variant: "c",
          control: "a",
          status: "ok",
          test: "pearson_chi2",
          verdict: "inconclusive",
          summary: "No clear difference between c and a.",
          absolute_effect: -0.005,
          absolute_ci: { low: -0.03, high: 0.02 },
          relative_effect: -0.05,
          relative_ci: { low: -0.3, high: 0.2 },
          p_value: 0.6,
          significant: false,
        },
      ],
      ...over,
    },
  };
}

const rangeOf = (row: HTMLElement) => {
  const r = row.querySelector('[data-testid="ci-range"]')!;
  const x = Number(r.getAttribute("x"));
  return { x, end: x + Number(r.getAttribute("width")) };
};

describe("ResultsTable", () => {
  it("places each CI bar on a scale shared by the table, relative to zero", () => {
    const { container } = render(<ResultsTable metric={metric()} variantNames={{ a: "Control", b: "Green button" }} />);
    const domain = ciDomain([
      { low: 0.1, high: 0.5 },
      { low: -0.3, high: 0.2 },
    ]);
    const rowB = container.querySelector('[data-variant="b"]') as HTMLElement;
    const rowC = container.querySelector('[data-variant="c"]') as HTMLElement;
    const b = rangeOf(rowB);
    const c = rangeOf(rowC);
    expect(b.x).toBeCloseTo(scale(0.1, domain), 6);
    expect(b.end).toBeCloseTo(scale(0.5, domain), 6);
    expect(c.x).toBeCloseTo(scale(-0.3, domain), 6);
    expect(c.end).toBeCloseTo(scale(0.2, domain), 6);
    // Zero sits at the same place in both rows; b's interval is entirely right of it, c's straddles it.
    const zeroB = Number(rowB.querySelector('[data-testid="ci-zero"]')!.getAttribute("x1"));
    const zeroC = Number(rowC.querySelector('[data-testid="ci-zero"]')!.getAttribute("x1"));
    expect(zeroB).toBeCloseTo(zeroC, 6);
    expect(b.x).toBeGreaterThan(zeroB);
    expect(c.x).toBeLessThan(zeroC);
    expect(c.end).toBeGreaterThan(zeroC);
    // The point estimate sits inside the interval.
    const point = Number(rowB.querySelector('[data-testid="ci-point"]')!.getAttribute("x")) + 0.6;
    expect(point).toBeCloseTo(scale(0.3, domain), 6);
    // Every bar stays within the drawing.
    for (const r of [b, c]) {
      expect(r.x).toBeGreaterThanOrEqual(0);
      expect(r.end).toBeLessThanOrEqual(100);
    }
    // The bar is described in words for screen readers.
    expect(screen.getByRole("img", { name: /Green button: \+30\.0%, 95% CI from \+10\.0% to \+50\.0%/ })).toBeInTheDocument();
  });

  it("says the verdict in plain words, per variant, with users, mean and p-values", () => {
    const { container } = render(<ResultsTable metric={metric()} variantNames={{ a: "Control", b: "Green button" }} />);
    const rowB = within(container.querySelector('[data-variant="b"]') as HTMLElement);
    expect(rowB.getByText("Better")).toHaveClass("verdict-better");
    expect(rowB.getByText("b converts 30.0% better than a (p = 0.002).")).toBeInTheDocument();
    expect(rowB.getByText("1,010")).toBeInTheDocument();
    expect(rowB.getByText("13.00%")).toBeInTheDocument();
    expect(rowB.getByText("0.0020")).toBeInTheDocument();
    expect(rowB.getByText("adj. 0.0040")).toBeInTheDocument();
    const rowC = within(container.querySelector('[data-variant="c"]') as HTMLElement);
    expect(rowC.getByText("Inconclusive")).toHaveClass("verdict-inconclusive");
    const rowA = within(container.querySelector('[data-variant="a"]') as HTMLElement);
    expect(rowA.getByText("baseline")).toBeInTheDocument();
    expect(rowA.queryByRole("img")).toBeNull();
  });

  it("a comparison that could not be computed says why instead of a bar", () => {
    const m = metric({
      status: "insufficient_data",
      message: "b has fewer than 2 users",
      comparisons: [
        { variant: "b", control: "a", status: "insufficient_data", message: "b has only 1 user", test: "welch_t", verdict: "inconclusive", summary: "", significant: false },
      ],
      variants: [
        { variant: "a", users: 5, mean: 1 },
        { variant: "b", users: 1, mean: 2 },
      ],
      metric_type: "revenue",
    });
    const { container } = render(<ResultsTable metric={m} />);
    expect(screen.getByText("b has fewer than 2 users")).toBeInTheDocument();
    const rowB = within(container.querySelector('[data-variant="b"]') as HTMLElement);
    expect(rowB.getByText("b has only 1 user")).toBeInTheDocument();
    expect(rowB.queryByRole("img")).toBeNull();
  });

  it("a worse result on a lower-is-better metric is red", () => {
    const m = metric({ direction: "lower" });
    m.result.comparisons[0] = { ...m.result.comparisons[0], verdict: "worse", summary: "b is worse" };
    const { container } = render(<ResultsTable metric={m} />);
    const rowB = within(container.querySelector('[data-variant="b"]') as HTMLElement);
    expect(rowB.getByText("Worse")).toHaveClass("verdict-worse");
    expect(screen.getByText(/lower is better/)).toBeInTheDocument();
  });

  it("says not trustworthy instead of Better or Inconclusive while the sample ratio is off, with grey bars", () => {
    const m = metric();
    m.result.comparisons = m.result.comparisons.map((c) => ({ ...c, withheld_verdict: c.verdict as "better", verdict: "not_trustworthy" as const }));
    const { container } = render(<ResultsTable metric={m} />);
    for (const v of ["b", "c"]) {
      const row = within(container.querySelector(`[data-variant="${v}"]`) as HTMLElement);
      expect(row.getByTestId("verdict-withheld")).toHaveTextContent("Not trustworthy");
      expect(row.queryByText("Better")).toBeNull();
      expect(row.queryByText("Inconclusive")).toBeNull();
      expect(row.getByTestId("ci-range").getAttribute("fill")).toBe("var(--muted)");
    }
  });
});

describe("ResultWarnings", () => {
  const base: Results = {
    analysis_end: "2026-02-01T00:00:00Z",
    control: "a",
    users: { a: 1000, b: 800 },
    excluded_users: 0,
    metrics: [],
    multiple_comparisons: "holm",
    warnings: [],
    computed_in: {},
  };

  it("shows a sample-ratio-mismatch warning with observed and expected users", () => {
    render(
      <ResultWarnings
        results={{
          ...base,
          srm: { status: "ok", observed: [1000, 800], expected: [900, 900], chi_squared: 22.2, df: 1, p_value: 0.0000024, mismatch: true, threshold: 0.001 },
          warnings: ["sample ratio mismatch: the users per variant do not match the intended weights (p < 0.001); the results may be biased"],
        }}
        variants={["a", "b"]}
      />,
    );
    const w = screen.getByTestId("srm-warning");
    expect(w).toHaveTextContent("Sample ratio mismatch");
    expect(w).toHaveTextContent("p = < 0.0001");
    expect(w).toHaveTextContent("Observed a: 1,000, b: 800; expected a: 900, b: 900");
    // The server's own SRM sentence is not repeated as a second note.
    expect(screen.queryByText(/^sample ratio mismatch:/)).toBeNull();
  });

  it("no SRM warning when the split matches", () => {
    render(<ResultWarnings results={{ ...base, srm: { status: "ok", observed: [900, 901], p_value: 0.98, mismatch: false, threshold: 0.001 } }} variants={["a", "b"]} />);
    expect(screen.queryByTestId("srm-warning")).toBeNull();
  });

  it("warns about users exposed to more than one variant", () => {
    render(<ResultWarnings results={{ ...base, excluded_users: 42, warnings: ["42 users were exposed to more than one variant and are excluded"] }} variants={["a", "b"]} />);
    expect(screen.getByTestId("multi-exposure-warning")).toHaveTextContent("42 users were exposed to more than one variant");
    expect(screen.getAllByRole("status")).toHaveLength(1);
  });

  it("shows the sequential, Bayesian, CUPED, chi-squared and adjusted figures of a comparison", () => {
    const m = metric();
    const b = m.result.comparisons[0];
    Object.assign(b, {
      method: "sequential",
      relative: { effect: 0.3, std_error: 0.1, ci: { low: 0.104, high: 0.496 }, p_value: 0.0021 },
      bayesian: { prior: { proper: false, mean: 0, std_dev: 0 }, expected: 0.3, std_dev: 0.1, chance_to_win: 0.9987, ci: { low: 0.1, high: 0.5 }, risk_control: 0.3, risk_treatment: 0.0001 },
      cuped: { theta: 0.57, variance_reduction: 0.506, applied: true },
      chi_squared: { statistic: 1.2, p_value: 0.27, min_expected: 3, fisher_p_value: 0.31, small_sample: true },
      warnings: ["small sample: an expected cell count is 3 (< 5)"],
    });
    m.adjusted = { b: { holm_p_value: 0.004, holm_ci: { low: 0.05, high: 0.55 }, bh_p_value: 0.004, bh_ci: null } };
    render(<ResultsTable metric={m} correction="benjamini-hochberg across all metrics and comparisons" />);
    const row = screen.getAllByRole("rowgroup").find((g) => g.getAttribute("data-variant") === "b")!;
    expect(within(row).getByTestId("bayesian")).toHaveTextContent("Chance to beat control 99.9%");
    expect(within(row).getByTestId("bayesian")).toHaveTextContent("flat prior");
    expect(within(row).getByTestId("sequential-note")).toHaveTextContent("A fixed-horizon test would say p = 0.0021");
    expect(within(row).getByTestId("cuped")).toHaveTextContent("CUPED reduced the variance by 50.6%");
    expect(within(row).getByTestId("chi-squared")).toHaveTextContent("Fisher's exact p = 0.3100");
    expect(within(row).getByTestId("adjusted")).toHaveTextContent("Benjamini–Hochberg p = 0.0040 unbounded");
    expect(within(row).getByRole("note")).toHaveTextContent("small sample");
    expect(within(row).getByText("sequential")).toBeInTheDocument();
    expect(within(row).getByTitle("Benjamini–Hochberg adjusted across all metrics")).toHaveTextContent("adj. 0.0040");
  });

  it("shows a metric that could not be analysed as an error", () => {
    const m = metric({ status: "invalid_data", message: "variant \"a\": sum is not a finite number", comparisons: [], variants: [] });
    m.error = 'variant "a": sum is not a finite number (NaN or Inf in the events?)';
    render(<ResultsTable metric={m} />);
    expect(screen.getByTestId("metric-error")).toHaveTextContent("NaN or Inf in the events");
  });

  it("lists the breakdown by dimension value with a many-comparisons note", () => {
    const m = metric();
    m.dimensions = [
      { value: "DE", excluded_users: 0, result: metric().result },
      { value: "(other)", excluded_users: 0, result: metric().result },
    ];
    render(<ResultsTable metric={m} variantNames={{ b: "Blue" }} />);
    const bd = screen.getByTestId("breakdown-purchase");
    expect(bd).toHaveTextContent("Breakdown by dimension (2 values)");
    expect(bd).toHaveTextContent("not corrected");
    const row = within(bd).getAllByRole("row").find((r) => r.textContent?.startsWith("DEBlue"))!;
    expect(row).toHaveTextContent("+30.0% [+10.0%, +50.0%]");
  });
});
