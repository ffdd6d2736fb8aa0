import { useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ExposureDay } from "../../api/experimentTypes";
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

/** Users per variant over time (the exposures pipeline's running totals), drawn with uPlot. */
export function ExposuresChart({ items, order, names = {} }: { items: ExposureDay[]; order: string[]; names?: Record<string, string> }) {
  const ref = useRef<HTMLDivElement>(null);
  const series = useMemo(() => toSeries(items, order), [items, order]);

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
            legend: { live: false },
            series: [
              { label: "Day", value: (_u, v) => (v == null ? "" : new Date(v * 1000).toISOString().slice(0, 10)) },
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
  }, [series, names, order]);

  if (series.days.length === 0) {
    return <p className="muted">No exposures counted yet. The exposures job runs nightly; “Count exposures now” runs it at once.</p>;
  }
  const partialDay = items.find((i) => i.partial)?.day;
  return (
    <figure className="chart-figure">
      <div ref={ref} className="chart" role="img" aria-label={`Users per variant over ${series.days.length} days`} />
      {partialDay && (
        <figcaption className="muted small">
          The last point ({partialDay}) is today, a partial day counted up to the last “Count exposures now”; the results count users up to their own
          refresh, so the two can differ by the users who arrived in between.
        </figcaption>
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
                  <th scope="row">{d}</th>
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
