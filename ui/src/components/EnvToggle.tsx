import { useState } from "react";
import { api } from "../api/endpoints";
import type { Environment, FlagState } from "../api/types";
import { ConfirmDialog } from "./ConfirmDialog";
import { Switch } from "./Switch";
import { useToast } from "./Toast";
import { ErrorBanner } from "./ErrorBanner";
import { useCan } from "../auth";

/** Environments whose changes need a confirmation. */
export const needsConfirmation = (envKey: string) => envKey === "production";

interface Props {
  project: string;
  flagKey: string;
  flagName: string;
  env: Pick<Environment, "key" | "name" | "protected">;
  state: FlagState;
  onChanged: (s: FlagState) => void;
  disabled?: boolean;
  showText?: boolean;
}

/** Turns a flag on or off in one environment; asks first in production. */
export function EnvToggle({ project, flagKey, flagName, env, state, onChanged, disabled, showText }: Props) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const toast = useToast();
  const next = !state.enabled;
  // Editors change flags; in a protected environment only admins do.
  const can = useCan(project, env.protected ? "admin" : "editor");
  const reason = can.ok ? "" : env.protected ? `${env.name} is protected: only project admins change flags there.` : can.reason;

  const apply = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const s = await api.updateState(project, flagKey, env.key, { enabled: next });
      onChanged(s);
      setConfirming(false);
      toast(`${flagKey} is now ${s.enabled ? "on" : "off"} in ${env.name}`);
    } catch (e) {
      if (confirming) throw e; // shown inside the dialog
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <Switch
        checked={state.enabled}
        disabled={disabled || busy || !can.ok}
        reason={reason}
        label={`${flagKey} in ${env.name}`}
        showText={showText}
        onChange={() => (needsConfirmation(env.key) ? setConfirming(true) : void apply())}
      />
      {error !== undefined && (
        <div className="inline-error">
          <ErrorBanner error={error} />
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title={`Turn ${next ? "on" : "off"} “${flagName}” in ${env.name}?`}
          confirmLabel={next ? `Turn on in ${env.name}` : `Turn off in ${env.name}`}
          danger={!next}
          onConfirm={apply}
          onCancel={() => setConfirming(false)}
        >
          <p>
            This changes what users of <strong>{env.name}</strong> get from <code>{flagKey}</code> within seconds.
          </p>
          <p className="muted">
            {next
              ? "While on, users get their custom assignment or their share of the rollout."
              : "While off, every user gets the off variant."}
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
