import { useEffect } from "react";
import { Link } from "react-router";
import { tapi } from "../../api/endpoints";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { dateTime, relativeTime } from "../../lib/format";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";

/** The segments of the current environment, with the sizes of their lists. */
export function SegmentsPage() {
  const ws = useWorkspace();
  const list = useApi((s) => tapi.listSegments(ws.project, ws.env, s), [ws.project, ws.env]);
  useEffect(() => {
    document.title = "Segments · Waypost";
  }, []);
  const items = list.data?.segments ?? [];
  return (
    <div>
      <div className="page-header">
        <div>
          <h1>Segments</h1>
          <p className="muted">
            Reusable groups of users in <strong>{ws.environment.name}</strong>: ids always in, ids always out (exclusion wins), and rules. Flag rules and
            experiment audiences use them with the <code>is in segment</code> condition.
          </p>
        </div>
        <Link to={ws.to("segments/new")} className="btn btn-primary">
          + New segment
        </Link>
      </div>
      <ErrorBanner error={list.error} onRetry={list.reload} />
      {!list.data && !list.error ? (
        <Loading label="Loading segments…" />
      ) : items.length === 0 && list.data ? (
        <p className="empty">No segments in {ws.environment.name} yet.</p>
      ) : (
        items.length > 0 && (
          <div className="table-wrap">
            <table className="table">
              <caption className="sr-only">Segments in {ws.environment.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Segment</th>
                  <th scope="col" className="num">
                    Included ids
                  </th>
                  <th scope="col" className="num">
                    Excluded ids
                  </th>
                  <th scope="col" className="num">
                    Rules
                  </th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <tr key={s.key}>
                    <td>
                      <Link to={ws.to(`segments/${encodeURIComponent(s.key)}`)} className="flag-link">
                        {s.name}
                      </Link>{" "}
                      <code className="muted small">{s.key}</code>
                      {s.description && <div className="flag-desc muted small">{s.description}</div>}
                    </td>
                    <td className="num">{s.included_count.toLocaleString()}</td>
                    <td className="num">{s.excluded_count.toLocaleString()}</td>
                    <td className="num">{(s.rules ?? []).length}</td>
                    <td className="muted">
                      <span title={dateTime(s.updated_at)}>{relativeTime(s.updated_at)}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
    </div>
  );
}
