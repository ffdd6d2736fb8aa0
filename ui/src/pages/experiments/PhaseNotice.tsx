import type { Experiment, Phase } from "../../api/experimentTypes";
import { dateTime, relativeTime } from "../../lib/format";

/** The current phase of an experiment (the last one), if any. */
export function currentPhase(x: Experiment): Phase | undefined {
  const ps = x.phases ?? [];
  return ps[ps.length - 1];
}

/** Says when a running experiment's phase was interrupted by the kill switch, or its flag is off. */
export function PhaseNotice({ x, compact }: { x: Experiment; compact?: boolean }) {
  const ph = currentPhase(x);
  if (x.status !== "running" || !ph) return null;
  if (ph.interrupted) {
    const when = <span title={dateTime(ph.interrupted.at)}>{relativeTime(ph.interrupted.at)}</span>;
    if (compact)
      return (
        <span className="status status-warn" role="status">
          phase {ph.number} interrupted by {ph.interrupted.by} {when}
        </span>
      );
    return (
      <div className="banner banner-warn" role="alert">
        <strong>
          Phase {ph.number} interrupted: the kill switch turned the flag off ({ph.interrupted.by}, {when}).
        </strong>
        <span>
          {x.flag_enabled
            ? "The flag is on again, but users got the off variant meanwhile: this phase's results are mixed. Stop the experiment, or start a new phase from the flag's targeting."
            : "Everyone gets the off variant now; the experiment measures nothing until the flag is on again. Stop it, or turn the flag back on."}
        </span>
      </div>
    );
  }
  return null;
}
