interface Props {
  checked: boolean;
  onChange: (next: boolean) => void;
  label: string;
  disabled?: boolean;
  showText?: boolean;
  /** Why it is disabled (shown as a tooltip). */
  reason?: string;
}

/** An on/off switch (a button with role="switch"), operable with Space and Enter. */
export function Switch({ checked, onChange, label, disabled, showText = true, reason }: Props) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      disabled={disabled}
      title={reason || undefined}
      className={checked ? "switch switch-on" : "switch"}
      onClick={() => onChange(!checked)}
    >
      <span className="switch-track" aria-hidden="true">
        <span className="switch-thumb" />
      </span>
      {showText && <span className="switch-text">{checked ? "On" : "Off"}</span>}
    </button>
  );
}
