import { useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ResultPoint } from "../../api/experimentTypes";
import { variantColor } from "../../components/RolloutEditor";
import { pct } from "./ResultsTable";

export interface EffectSeries {
  days: string[];
  variants: string[];
  /** effect[v][d], low[v][d], high[v][d]: relative effect and interval of variant v on day d (null when missing). */
  effect: (number | null)[][];
  low: (number | null)[][];
  high: (number | null)[][];
}

/** One metric's points as day-by-variant series. */
export function toEffectSeries(points: ResultPoint[], metric: string, order: string[] = []): EffectSeries {
  const mine = points.filter((p) => p.metric === metric);
  const days = [...new Set(mine.map((p) => p.day))].sort();
  const seen = [...new Set(mine.map((p) => p.variant))];
  const variants = [...order.filter((v) => seen.includes(v)), ...seen.filter((v) => !order.includes(v))];
  const at = new Map(mine.map((p) => [`${p.variant}|${p.day}`, p]));
  const pick = (f: (p: ResultPoint) => number | null | undefined) => variants.map((v) => days.map((d) => f(at.get(`${v}|${d}`) ?? ({} as ResultPoint)) ?? null));
  return {
    days,
    variants,
    effect: pick((p) => p.relative_effect),
    low: pick((p) => p.relative_ci_low),
    high: pick((p) => p.relative_ci_high),
  };
}

/** Whether canvas drawing works here (not in jsdom): uPlot draws asynchronously and would throw. */
function canDraw(): boolean {
  try {
    return !!document.createElement("canvas").getContext("2d");
  } catch {
    return false;
  }
}

/** Cumulative relative effect and interval per day for one metric; hovering shows the day's values. */
export function ResultsOverTimeChart({ points, metric, name, order, names = {} }: { points: ResultPoint[]; metric: string; name: string; order: string[]; names?: Record<string, string> }) {
  const ref = useRef<HTMLDivElement>(null);
  const s = useMemo(() => toEffectSeries(points, metric, order), [points, metric, order]);

  useEffect(() => {
    const el = ref.current;
    if (!el || s.days.length === 0 || !canDraw()) return;
    let plot: uPlot | undefined;
    const xs = s.days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const series: uPlot.Series[] = [{ label: "Day", value: (_u, v) => (v == null ? "" : new Date(v * 1000).toISOString().slice(0, 10)) }];
    const data: (number | null)[][] = [];
    s.variants.forEach((v, i) => {
      const color = variantColor(order.indexOf(v) >= 0 ? order.indexOf(v) : i + 1, v);
      series.push({ label: names[v] ?? v, stroke: color, width: 2, value: (_u, x) => (x == null ? "–" : pct(x)) });
      series.push({ label: `${names[v] ?? v} CI low`, stroke: color, width: 1, dash: [4, 4], value: (_u, x) => (x == null ? "–" : pct(x)) });
      series.push({ label: `${names[v] ?? v} CI high`, stroke: color, width: 1, dash: [4, 4], value: (_u, x) => (x == null ? "–" : pct(x)) });
      data.push(s.effect[i], s.low[i], s.high[i]);
    });
    const make = () => {
      plot?.destroy();
      try {
        plot = new uPlot(
          {
            width: Math.max(300, el.clientWidth || 600),
            height: 220,
            tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
            scales: { x: { time: true } },
            axes: [
              { stroke: "#5b6675", grid: { stroke: "#e5e7eb" }, incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400] },
              { stroke: "#5b6675", grid: { stroke: "#e5e7eb" }, size: 60, values: (_u, ticks) => ticks.map((t) => pct(t, 0)) },
            ],
            // The legend follows the cursor: hovering a day shows its effect and interval.
            legend: { live: true },
            series,
          },
          [xs, ...data] as uPlot.AlignedData,
          el,
        );
      } catch {
        // No canvas (tests): the table below has the numbers.
      }
    };
    make();
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => plot?.setSize({ width: Math.max(300, el.clientWidth), height: 220 })) : undefined;
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      plot?.destroy();
    };
  }, [s, names, order]);

  if (s.days.length === 0) return null;
  return (
    <figure className="chart-figure" data-testid={`over-time-${metric}`}>
      <figcaption className="small muted">{name}: cumulative relative effect and interval at each day&apos;s last refresh</figcaption>
      <div ref={ref} className="chart" role="img" aria-label={`${name}: relative effect over ${s.days.length} days`} />
      <details>
        <summary>Show as a table</summary>
        <div className="table-wrap">
          <table className="table small">
            <thead>
              <tr>
                <th scope="col">Day</th>
                {s.variants.map((v) => (
                  <th scope="col" key={v} className="num">
                    {names[v] ?? v}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {s.days.map((d, j) => (
                <tr key={d}>
                  <th scope="row">{d}</th>
                  {s.variants.map((v, i) => (
                    <td key={v} className="num">
                      {pct(s.effect[i][j])} [{pct(s.low[i][j])}, {pct(s.high[i][j])}]
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
