import { afterEach, describe, expect, it, vi } from "vitest";
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { PowerEstimate } from "./PowerEstimate";
import { mockFetch } from "../../test/helpers";

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const answer = (body: unknown) => () => ({ status: 200, body });

describe("PowerEstimate", () => {
  it("asks the server once the user stops typing (debounced) and shows users per variant and days", async () => {
    // Time stands still while the user types (fake timers advanced only by
    // userEvent's zero delays), so the debounce is tested, not the machine's speed.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    // Testing Library advances fake timers through the jest global it looks for.
    vi.stubGlobal("jest", { advanceTimersByTime: (ms: number) => vi.advanceTimersByTime(ms) });
    const user = userEvent.setup({ advanceTimers: (ms) => vi.advanceTimersByTime(ms) });
    const calls = mockFetch((c) => (c.method === "POST" && /\/power$/.test(c.url) ? answer({ sample_size: { status: "ok", users_per_variant: 14745 }, total_users: 29490, days: 30, expected_end: "2026-03-01" })() : undefined));
    render(<PowerEstimate project="default" metricType="binomial" mde={0.05} variants={2} traffic={0.5} delayMs={50} />);
    const baseline = screen.getByLabelText("Baseline conversion rate (%)");
    await user.clear(baseline);
    await user.type(baseline, "12");
    await user.type(screen.getByLabelText("Users per day (all traffic)"), "2000");
    await act(() => vi.advanceTimersByTimeAsync(49));
    expect(calls).toEqual([]); // still typing, as far as the debounce knows
    await act(() => vi.advanceTimersByTimeAsync(1));
    await waitFor(() => expect(screen.getByTestId("power-result")).toHaveTextContent("14,745 users per variant"));
    expect(screen.getByTestId("power-result")).toHaveTextContent("about 30 days");
    expect(screen.getByTestId("power-result")).toHaveTextContent("until 2026-03-01");
    // Typing "12" and "2000" sent one request, with the final values.
    expect(calls.map((c) => c.body)).toEqual([{ metric_type: "binomial", baseline_mean: 0.12, minimum_detectable_effect: 0.05, variants: 2, users_per_day: 1000 }]);
  });

  it("continuous metrics need a standard deviation, sent as a variance", async () => {
    const calls = mockFetch((c) => (c.method === "POST" ? answer({ sample_size: { status: "ok", users_per_variant: 500 }, total_users: 1000 })() : undefined));
    render(<PowerEstimate project="default" metricType="revenue" mde={0.1} variants={2} traffic={1} delayMs={10} />);
    expect(screen.getByTestId("power-result")).toHaveTextContent("Enter the baseline mean");
    await userEvent.type(screen.getByLabelText("Baseline mean per user"), "20");
    expect(screen.getByTestId("power-result")).toHaveTextContent("standard deviation");
    await userEvent.type(screen.getByLabelText("Standard deviation per user"), "3");
    await waitFor(() => expect(screen.getByTestId("power-result")).toHaveTextContent("500 users per variant"));
    expect(calls[calls.length - 1].body).toMatchObject({ metric_type: "revenue", baseline_mean: 20, baseline_variance: 9 });
  });

  it("without a minimum detectable effect it says what is missing and sends nothing", async () => {
    const calls = mockFetch();
    render(<PowerEstimate project="default" metricType="binomial" mde={undefined} variants={2} traffic={1} delayMs={10} />);
    expect(screen.getByTestId("power-result")).toHaveTextContent("Enter a minimum detectable effect");
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toEqual([]);
  });

  it("warns when the planned duration is shorter than the estimate, and not when it is long enough", async () => {
    mockFetch((c) => (c.method === "POST" ? answer({ sample_size: { status: "ok", users_per_variant: 14745 }, total_users: 29490, days: 30 })() : undefined));
    const { rerender } = render(<PowerEstimate project="default" metricType="binomial" mde={0.05} variants={2} traffic={1} plannedDays={14} delayMs={10} />);
    await userEvent.type(screen.getByLabelText("Users per day (all traffic)"), "1000");
    await waitFor(() => expect(screen.getByTestId("duration-warning")).toHaveTextContent("The planned 14 days are shorter than the 30 days this estimate needs"));
    rerender(<PowerEstimate project="default" metricType="binomial" mde={0.05} variants={2} traffic={1} plannedDays={30} delayMs={10} />);
    expect(screen.queryByTestId("duration-warning")).toBeNull();
  });

  it("shows the server's validation message", async () => {
    mockFetch((c) => (c.method === "POST" ? { status: 422, body: { error: { code: "invalid", message: "a conversion rate between 0 and 1 is required", field: "baseline_mean" } } } : undefined));
    render(<PowerEstimate project="default" metricType="binomial" mde={0.05} variants={2} traffic={1} delayMs={10} />);
    const baseline = screen.getByLabelText("Baseline conversion rate (%)");
    await userEvent.clear(baseline);
    await userEvent.type(baseline, "150");
    await waitFor(() => expect(screen.getByTestId("power-result")).toHaveTextContent("Baseline: a conversion rate between 0 and 1 is required"));
  });
});
