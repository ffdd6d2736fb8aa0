import { describe, expect, it, vi } from "vitest";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type uPlot from "uplot";
import type { ExposureDay } from "../../api/experimentTypes";
import { ExposuresChart } from "./ExposuresChart";

// jsdom has no canvas, so uPlot cannot draw here: a stand-in records what the
// chart hands it (the options whose legend shows the hovered day's values, and
// the data), so the tests can ask the legend what it would show.
const plots = vi.hoisted(() => [] as { opts: uPlot.Options; data: uPlot.AlignedData }[]);
vi.mock("uplot", () => ({
  default: class {
    static tzDate = (d: Date) => d;
    constructor(opts: uPlot.Options, data: uPlot.AlignedData) {
      plots.push({ opts, data });
    }
    setSize() {}
    destroy() {}
  },
}));

const items: ExposureDay[] = [
  { variant: "off", day: "2026-11-29", new_users: 1200, total_users: 1200 },
  { variant: "on", day: "2026-11-29", new_users: 1234, total_users: 1234 },
  { variant: "off", day: "2026-11-30", new_users: 3, total_users: 1203, partial: true },
  { variant: "on", day: "2026-11-30", new_users: 3, total_users: 1237, partial: true },
];
const names = { off: "Control", on: "Green button" };
const ts = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

/** What the hover legend shows at a day: its label and each series' "label: value". */
function legendAt(day: string): string[] {
  const { opts, data } = plots[plots.length - 1];
  const j = (data[0] as number[]).indexOf(ts(day));
  expect(j, `no point for ${day}`).toBeGreaterThanOrEqual(0);
  const u = {} as uPlot;
  return opts.series.map((s, i) => {
    const v = (data[i] as (number | null)[])[j];
    const shown = typeof s.value === "function" ? s.value(u, v as number, i, j) : String(v);
    return `${s.label}: ${shown}`;
  });
}

describe("exposures chart", () => {
  it("marks today's partial day in the caption, the table and the hover legend", async () => {
    render(<ExposuresChart items={items} order={["off", "on"]} names={names} />);
    expect(screen.getByText(/The last point \(2026-11-30\) is today, a partial day counted up to the last “Count exposures now”/)).toBeInTheDocument();

    await userEvent.click(screen.getByText("Show as a table"));
    const rows = within(screen.getByRole("table")).getAllByRole("row").slice(1);
    expect(rows.map((r) => within(r).getByRole("rowheader").textContent)).toEqual(["2026-11-29", "2026-11-30partial"]);
    expect(within(rows[1]).getByText("partial")).toBeInTheDocument();

    expect(legendAt("2026-11-30")[0]).toBe("Day: 2026-11-30 (partial day, so far)");
    expect(legendAt("2026-11-29")[0]).toBe("Day: 2026-11-29");
  });

  it("hovering a day shows each variant's users that day in the live legend", () => {
    render(<ExposuresChart items={items} order={["off", "on"]} names={names} />);
    expect(plots[plots.length - 1].opts.legend?.live).toBe(true);
    expect(legendAt("2026-11-29").slice(1)).toEqual([`Control: ${(1200).toLocaleString()} users`, `Green button: ${(1234).toLocaleString()} users`]);
    expect(legendAt("2026-11-30").slice(1)).toEqual([`Control: ${(1203).toLocaleString()} users`, `Green button: ${(1237).toLocaleString()} users`]);
  });

  it("says nothing about a partial day when every day is complete", async () => {
    render(<ExposuresChart items={items.map((i) => ({ ...i, partial: undefined }))} order={["off", "on"]} names={names} />);
    expect(screen.queryByText(/a partial day/)).toBeNull();
    await userEvent.click(screen.getByText("Show as a table"));
    expect(within(screen.getByRole("table")).queryByText("partial")).toBeNull();
    expect(legendAt("2026-11-30")[0]).toBe("Day: 2026-11-30");
  });
});
