import { useId } from "react";
import type { AttributeSuggestion, Operator } from "../../api/types";
import { OPERATORS, clauseDraft, coerceValues, operatorInfo, type ClauseDraft, type RuleErrorPlace } from "../../lib/targeting";
import { ValuesInput, type SegmentOption } from "./ValuesInput";
import "./targeting.css";

const GROUPS = [...new Set(OPERATORS.map((o) => o.group))];

interface Props {
  clauses: ClauseDraft[];
  onChange: (clauses: ClauseDraft[]) => void;
  /** The API field of the list: "rules[2].clauses" or "audience". */
  field: string;
  /** The server error about this list, placed (clause index and part). */
  error?: RuleErrorPlace;
  attributes?: AttributeSuggestion[];
  /** Segments for in_segment; absent: in_segment is not offered (segment rules cannot use it). */
  segments?: SegmentOption[];
  disabled?: boolean;
  /** Shown when there are no clauses (audiences may be empty). */
  emptyText?: string;
  /** The id of an <AttributeList> shared by several editors (the rules of a flag); absent: the editor renders its own from attributes. */
  attributeList?: string;
}

/** The attribute names suggested while typing a condition: targetingKey, then each attribute seen with where it was seen and a few examples. */
export function AttributeList({ id, attributes }: { id: string; attributes?: AttributeSuggestion[] }) {
  return (
    <datalist id={id}>
      <option value="targetingKey">the user id</option>
      {(attributes ?? [])
        .filter((a) => a.name !== "targetingKey")
        .map((a) => (
          <option key={a.name} value={a.name}>
            {a.seen}
            {a.examples && a.examples.length ? `: ${a.examples.slice(0, 3).join(", ")}` : ""}
          </option>
        ))}
    </datalist>
  );
}

/** Conditions that must all match: attribute, operator, values typed by the operator, negate. */
export function ClausesEditor({ clauses, onChange, field, error, attributes, segments, disabled, emptyText, attributeList }: Props) {
  const ownList = useId();
  const list = attributeList ?? ownList;
  const set = (j: number, c: ClauseDraft) => onChange(clauses.map((x, k) => (k === j ? c : x)));
  const listError = error && error.clause === undefined ? error.message : undefined;
  return (
    <div className="clauses" data-field={field} tabIndex={-1}>
      {!attributeList && <AttributeList id={ownList} attributes={attributes} />}
      {clauses.length === 0 && emptyText && <p className="muted small">{emptyText}</p>}
      {clauses.map((c, j) => (
        <ClauseRow
          key={c.key}
          index={j}
          clause={c}
          onChange={(nc) => set(j, nc)}
          onRemove={() => onChange(clauses.filter((_, k) => k !== j))}
          field={`${field}[${j}]`}
          error={error && error.clause === j ? error : undefined}
          attributes={attributes}
          segments={segments}
          disabled={disabled}
          attributeList={list}
        />
      ))}
      {listError && (
        <div className="field-error" role="alert">
          {listError}
        </div>
      )}
      <button type="button" className="btn btn-small" disabled={disabled} onClick={() => onChange([...clauses, clauseDraft()])}>
        + Add condition
      </button>
    </div>
  );
}

function ClauseRow(props: {
  index: number;
  clause: ClauseDraft;
  onChange: (c: ClauseDraft) => void;
  onRemove: () => void;
  field: string;
  error?: RuleErrorPlace;
  attributes?: AttributeSuggestion[];
  segments?: SegmentOption[];
  disabled?: boolean;
  attributeList?: string;
}) {
  const { index, clause: c, onChange, field, error, disabled } = props;
  const info = operatorInfo(c.op);
  const examples = props.attributes?.find((a) => a.name === c.attribute)?.examples;
  const on = (part: string) => (error && error.part === part ? error.message : undefined);
  const rowError = error && !["attribute", "values"].includes(error.part ?? "") ? error.message : undefined;
  const ops = OPERATORS.filter((o) => o.op !== "in_segment" || props.segments || c.op === "in_segment");
  return (
    <div className={error ? "clause-row clause-invalid" : "clause-row"} role="group" aria-label={`Condition ${index + 1}`} data-field={field} tabIndex={-1}>
      <span className="clause-and" aria-hidden="true">
        {index === 0 ? "if" : "and"}
      </span>
      {!info.noAttribute ? (
        <span className="clause-attr">
          <input
            aria-label="Attribute"
            data-field={`${field}.attribute`}
            value={c.attribute}
            list={props.attributeList}
            placeholder="attribute, e.g. country"
            spellCheck={false}
            autoCapitalize="off"
            disabled={disabled}
            aria-invalid={on("attribute") ? true : undefined}
            onChange={(e) => onChange({ ...c, attribute: e.target.value })}
          />
          {on("attribute") && (
            <span className="field-error" role="alert">
              {on("attribute")}
            </span>
          )}
        </span>
      ) : (
        <span className="clause-attr muted small">the context</span>
      )}
      <label className="checkbox clause-negate">
        <input type="checkbox" checked={c.negate} disabled={disabled} onChange={(e) => onChange({ ...c, negate: e.target.checked })} />
        not
      </label>
      <select
        aria-label="Operator"
        data-field={`${field}.op`}
        value={c.op}
        disabled={disabled}
        aria-invalid={on("op") ? true : undefined}
        onChange={(e) => {
          const op = e.target.value as Operator;
          const ni = operatorInfo(op);
          onChange({ ...c, op, values: coerceValues(c.values, ni.kind, c.scalar), attribute: ni.noAttribute ? "" : c.attribute });
        }}
      >
        {GROUPS.map((g) => (
          <optgroup key={g} label={g}>
            {ops
              .filter((o) => o.group === g)
              .map((o) => (
                <option key={o.op} value={o.op}>
                  {o.label} ({o.op})
                </option>
              ))}
          </optgroup>
        ))}
      </select>
      <ValuesInput
        op={c.op}
        scalar={c.scalar}
        values={c.values}
        onChange={(values) => onChange({ ...c, values })}
        onScalar={(scalar) => onChange({ ...c, scalar, values: coerceValues(c.values, "scalar", scalar) })}
        field={`${field}.values`}
        error={on("values")}
        examples={examples}
        segments={props.segments}
        disabled={disabled}
      />
      <button type="button" className="btn btn-small btn-ghost clause-remove" aria-label={`Remove condition ${index + 1}`} disabled={disabled} onClick={props.onRemove}>
        Remove
      </button>
      {c.negate && (
        <span className="clause-note muted small">
          {c.op === "exists" ? "Matches when the attribute is absent." : info.noAttribute ? "" : "A context without this attribute never matches, even negated."}
        </span>
      )}
      {rowError && (
        <div className="field-error clause-error" role="alert">
          {rowError}
        </div>
      )}
    </div>
  );
}
