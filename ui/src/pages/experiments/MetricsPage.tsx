import { useEffect } from "react";
import { Link } from "react-router";
import { xapi } from "../../api/endpoints";
import type { Metric } from "../../api/experimentTypes";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { relativeTime, dateTime } from "../../lib/format";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";

export const METRIC_TYPE_LABELS: Record<string, string> = {
  binomial: "Binomial (converted at least once)",
  count: "Count (events per user)",
  duration: "Duration (sum of value per user)",
  revenue: "Revenue (sum of value per user)",
};

/** Every metric of the project: what experiments can measure. */
export function MetricsPage() {
  const ws = useWorkspace();
  const metrics = useApi((s) => xapi.listMetrics(ws.project, s), [ws.project]);
  useEffect(() => {
    document.title = "Metrics · Waypost";
  }, []);
  const items = metrics.data?.items ?? [];
  return (
    <div>
      <div className="page-header">
        <div>
          <h1>Metrics</h1>
          <p className="muted">
            A metric is a SQL query on an events database returning <code>user_id, timestamp</code> (and <code>value</code> for duration and revenue).
            Experiments compare it per user across variants.
          </p>
        </div>
        <Link to={ws.to("metrics/new")} className="btn btn-primary">
          New metric
        </Link>
      </div>
      <ErrorBanner error={metrics.error} onRetry={metrics.reload} />
      {!metrics.data && !metrics.error && <Loading />}
      {metrics.data && items.length === 0 && (
        <div className="empty">
          No metrics yet. <Link to={ws.to("metrics/new")}>Create the first one</Link>.
        </div>
      )}
      {items.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col">Type</th>
                <th scope="col">Better when</th>
                <th scope="col">Window</th>
                <th scope="col">Connection</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((m) => (
                <MetricRow key={m.key} m={m} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function MetricRow({ m }: { m: Metric }) {
  const ws = useWorkspace();
  return (
    <tr>
      <th scope="row">
        <Link className="flag-link" to={ws.to(`metrics/${encodeURIComponent(m.key)}`)}>
          {m.name}
        </Link>
        <div className="flag-sub">
          <code>{m.key}</code>
          {m.guardrail && <span className="badge badge-warn">guardrail</span>}
        </div>
      </th>
      <td>{m.type}</td>
      <td>{m.direction === "lower" ? "lower" : "higher"}</td>
      <td>{m.conversion_window_hours ? `${m.conversion_window_hours} h` : <span className="muted">until analysis end</span>}</td>
      <td>{m.connection || <span className="muted">default</span>}</td>
      <td title={dateTime(m.updated_at)}>{relativeTime(m.updated_at)}</td>
    </tr>
  );
}
