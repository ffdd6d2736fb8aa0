import { CopyButton } from "./CopyButton";

export function CodeBlock({ code, label }: { code: string; label: string }) {
  return (
    <div className="code-block">
      <CopyButton text={code} ariaLabel={`Copy ${label}`} className="btn btn-small code-copy" />
      <pre tabIndex={0} aria-label={label}>
        <code>{code}</code>
      </pre>
    </div>
  );
}
