import { Link } from "react-router";
import { xapi } from "../../api/endpoints";
import type { Flag } from "../../api/types";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { relativeTime } from "../../lib/format";
import { ErrorBanner } from "../../components/ErrorBanner";
import { StatusBadge } from "./StatusBadge";
import { PhaseNotice, currentPhase } from "./PhaseNotice";

/** The flag page's list of its experiments in the selected environment, with "New experiment". */
export function FlagExperiments({ flag }: { flag: Flag }) {
  const ws = useWorkspace();
  // Reloaded when the flag's state here changes: the kill switch interrupts a running experiment's phase.
  const stateVersion = flag.environments.find((e) => e.environment === ws.env)?.version;
  const list = useApi((s) => xapi.listExperiments(ws.project, s), [ws.project, stateVersion]);
  const items = (list.data?.items ?? []).filter((x) => x.flag === flag.key && x.environment === ws.env);
  return (
    <section className="card" aria-labelledby="flag-experiments-title">
      <div className="card-head">
        <h2 id="flag-experiments-title">Experiments in {ws.environment.name}</h2>
        {!flag.archived_at && flag.variants.length >= 2 && (
          <Link to={`${ws.to("experiments/new")}?flag=${encodeURIComponent(flag.key)}`} className="btn btn-small">
            New experiment
          </Link>
        )}
      </div>
      <ErrorBanner error={list.error} onRetry={list.reload} />
      {list.data && items.length === 0 && <p className="muted">No experiments on this flag here yet.</p>}
      {items.length > 0 && (
        <ul className="change-list">
          {items.map((x) => (
            <li key={x.key}>
              <Link to={ws.to(`experiments/${encodeURIComponent(x.key)}`)}>{x.name}</Link> <StatusBadge status={x.status} />{" "}
              <span className="muted small">
                {x.started_at ? `started ${relativeTime(x.started_at)}` : `created ${relativeTime(x.created_at)}`}
                {x.shipped_variant ? ` · shipped ${x.shipped_variant}` : ""}
                {x.status === "running" && currentPhase(x) ? ` · phase ${currentPhase(x)!.number}` : ""}
              </span>{" "}
              <PhaseNotice x={x} compact />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
