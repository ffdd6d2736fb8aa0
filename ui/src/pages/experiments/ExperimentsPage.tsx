import { useEffect } from "react";
import { Link } from "react-router";
import { xapi } from "../../api/endpoints";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { useSearchState } from "../../lib/useSearchState";
import { dateTime, relativeTime } from "../../lib/format";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";
import { StatusBadge } from "./StatusBadge";

/** The experiments of the selected environment. */
export function ExperimentsPage() {
  const ws = useWorkspace();
  const list = useApi((s) => xapi.listExperiments(ws.project, s), [ws.project]);
  const [q, setQ] = useSearchState(["status"] as const);
  const status = q.status;
  const setStatus = (v: string) => setQ({ status: v });
  useEffect(() => {
    document.title = `Experiments · ${ws.environment.name} · Waypost`;
  }, [ws.environment.name]);
  const all = (list.data?.items ?? []).filter((x) => x.environment === ws.env);
  const items = status ? all.filter((x) => x.status === status) : all;
  return (
    <div>
      <div className="page-header">
        <div>
          <h1>
            Experiments in <span className={ws.env === "production" ? "env-name prod" : "env-name"}>{ws.environment.name}</span>
          </h1>
          <p className="muted">An experiment splits a flag's users between variants and compares metrics. Create one from a flag's page.</p>
        </div>
        <Link to={ws.to("experiments/new")} className="btn btn-primary">
          New experiment
        </Link>
      </div>
      <div className="toolbar">
        <label>
          Status{" "}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All</option>
            <option value="draft">Draft</option>
            <option value="running">Running</option>
            <option value="stopped">Stopped</option>
          </select>
        </label>
      </div>
      <ErrorBanner error={list.error} onRetry={list.reload} />
      {!list.data && !list.error && <Loading />}
      {list.data && items.length === 0 && <div className="empty">No experiments{status ? ` with status ${status}` : ""} in {ws.environment.name} yet.</div>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Experiment</th>
                <th scope="col">Flag</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Stopped</th>
              </tr>
            </thead>
            <tbody>
              {items.map((x) => (
                <tr key={x.key}>
                  <th scope="row">
                    <Link className="flag-link" to={ws.to(`experiments/${encodeURIComponent(x.key)}`)}>
                      {x.name}
                    </Link>
                    <div className="flag-sub">
                      <code>{x.key}</code>
                    </div>
                  </th>
                  <td>
                    <Link to={ws.to(`flags/${encodeURIComponent(x.flag)}`)}>{x.flag}</Link>
                  </td>
                  <td>
                    <StatusBadge status={x.status} />
                    {x.shipped_variant && <span className="muted small"> shipped {x.shipped_variant}</span>}
                  </td>
                  <td title={dateTime(x.started_at)}>{x.started_at ? relativeTime(x.started_at) : "–"}</td>
                  <td title={dateTime(x.stopped_at)}>{x.stopped_at ? relativeTime(x.stopped_at) : "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
