import { useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ExposureDay, Results } from "../../api/experimentTypes";
import { variantColor } from "../../components/RolloutEditor";

interface Series {
  days: string[];
  variants: string[];
  /** totals[v][d]: running total of users of variant v on day d. */
  totals: (number | null)[][];
}

/** Day-by-variant running totals; a day a variant has no row keeps its previous total. */
export function toSeries(items: ExposureDay[], order: string[] = []): Series {
  const days = [...new Set(items.map((i) => i.day))].sort();
  const seen = [...new Set(items.map((i) => i.variant))];
  const variants = [...order.filter((v) => seen.includes(v)), ...seen.filter((v) => !order.includes(v))];
  const at = new Map(items.map((i) => [`${i.variant}|${i.day}`, i.total_users]));
  const totals = variants.map((v) => {
    let last: number | null = null;
    return days.map((d) => {
      const t = at.get(`${v}|${d}`);
      if (t !== undefined) last = t;
      return last;
    });
  });
  return { days, variants, totals };
}

/**
 * How the chart's last point compares with the users of the latest
 * results: equal, or why not (users in several variants, counted at
 * different times).
 */
export function reconcile(series: Series, results: Results | undefined, names: Record<string, string> = {}): { matches: boolean; text: string } | undefined {
  if (!results || series.days.length === 0) return undefined;
  const last = series.variants.map((_v, i) => series.totals[i][series.days.length - 1] ?? 0);
  const chart = series.variants.map((v, i) => `${names[v] ?? v} ${last[i].toLocaleString()}`).join(", ");
  const res = series.variants.map((v) => `${names[v] ?? v} ${(results.users[v] ?? 0).toLocaleString()}`).join(", ");
  const matches = series.variants.every((v, i) => last[i] === (results.users[v] ?? 0));
  if (matches) return { matches, text: `The last point matches the latest results (${chart} users).` };
  const why: string[] = [];
  if (results.excluded_users > 0)
    why.push(`the results exclude ${results.excluded_users.toLocaleString()} users seen in more than one variant, which the chart counts under their first variant`);
  why.push(`the results count exposures up to ${new Date(results.analysis_end).toISOString().slice(0, 16).replace("T", " ")} UTC, the chart up to its last count`);
  return {
    matches,
    text: `The last point (${chart} users) differs from the latest results (${res}): ${why.join("; ")}. “Count exposures now” and a results refresh line them up.`,
  };
}

/** Users per variant over time (the exposures pipeline's running totals), drawn with uPlot; hovering shows each day's values. */
export function ExposuresChart({ items, order, names = {}, results }: { items: ExposureDay[]; order: string[]; names?: Record<string, string>; results?: Results }) {
  const ref = useRef<HTMLDivElement>(null);
  const series = useMemo(() => toSeries(items, order), [items, order]);
  const partialDay = items.find((i) => i.partial)?.day;

  useEffect(() => {
    const el = ref.current;
    if (!el || series.days.length === 0) return;
    let plot: uPlot | undefined;
    const xs = series.days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const make = () => {
      plot?.destroy();
      const width = Math.max(300, el.clientWidth || 600);
      try {
        plot = new uPlot(
          {
            width,
            height: 260,
            tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
            scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.08)] } },
            axes: [
              {
                stroke: "#5b6675",
                grid: { stroke: "#e5e7eb" },
                // Daily data: ticks on whole days only.
                incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400],
                values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" })),
              },
              { stroke: "#5b6675", grid: { stroke: "#e5e7eb" }, size: 60, values: (_u, ticks) => ticks.map((t) => t.toLocaleString()) },
            ],
            // Hover: the legend shows the day under the cursor and each variant's users.
            legend: { live: true },
            cursor: { points: { size: 8 } },
            series: [
              {
                label: "Day",
                value: (_u, v) => {
                  if (v == null) return "";
                  const d = new Date(v * 1000).toISOString().slice(0, 10);
                  return d === partialDay ? `${d} (partial day, so far)` : d;
                },
              },
              ...series.variants.map((v, i) => ({
                label: names[v] ?? v,
                stroke: variantColor(order.indexOf(v) >= 0 ? order.indexOf(v) : i, v),
                width: 2,
                points: { show: series.days.length < 40 },
                value: (_u: uPlot, x: number | null) => (x == null ? "" : `${x.toLocaleString()} users`),
              })),
            ],
          },
          [xs, ...series.totals] as uPlot.AlignedData,
          el,
        );
      } catch {
        // No canvas (tests, very old browsers): the table below still has the numbers.
      }
    };
    make();
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => plot?.setSize({ width: Math.max(300, el.clientWidth), height: 260 })) : undefined;
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      plot?.destroy();
    };
  }, [series, names, order, partialDay]);

  if (series.days.length === 0) {
    return <p className="muted">No exposures counted yet. The exposures job runs nightly; “Count exposures now” runs it at once.</p>;
  }
  const rec = reconcile(series, results, names);
  return (
    <figure className="chart-figure">
      <div ref={ref} className="chart" role="img" aria-label={`Users per variant over ${series.days.length} days`} />
      {partialDay && (
        <figcaption className="muted small">
          The last point ({partialDay}) is today, a partial day counted up to the last “Count exposures now”; the results count users up to their own
          refresh, so the two can differ by the users who arrived in between.
        </figcaption>
      )}
      {rec && (
        <p className={rec.matches ? "muted small" : "small"} data-testid="exposures-reconcile">
          {rec.text}
        </p>
      )}
      <details>
        <summary>Show as a table</summary>
        <div className="table-wrap">
          <table className="table small">
            <thead>
              <tr>
                <th scope="col">Day</th>
                {series.variants.map((v) => (
                  <th scope="col" key={v} className="num">
                    {names[v] ?? v}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {series.days.map((d, j) => (
                <tr key={d}>
                  <th scope="row">
                    {d}
                    {d === partialDay && <span className="badge badge-inline">partial</span>}
                  </th>
                  {series.variants.map((v, i) => (
                    <td key={v} className="num">
                      {series.totals[i][j]?.toLocaleString() ?? "–"}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
