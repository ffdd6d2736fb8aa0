// A flat before/after diff of two JSON values, for the events log.

export interface DiffRow {
  path: string;
  before: unknown;
  after: unknown;
  kind: "added" | "removed" | "changed";
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Rows for every leaf that differs. Objects are compared key by key; arrays
 * of {variant, weight}, {key, ...} or {id, ...} (rules) items by that key, other arrays as a
 * whole; "version" and "salt" bookkeeping is left out unless asked for.
 */
export function diff(before: unknown, after: unknown, opts: { bookkeeping?: boolean } = {}): DiffRow[] {
  const rows: DiffRow[] = [];
  walk("", before, after, rows);
  return opts.bookkeeping ? rows : rows.filter((r) => !/(^|\.)(version|salt)$/.test(r.path));
}

function keyed(a: unknown[]): Map<string, unknown> | null {
  const m = new Map<string, unknown>();
  for (const x of a) {
    if (!isObj(x)) return null;
    const k = typeof x.variant === "string" ? x.variant : typeof x.key === "string" ? x.key : typeof x.id === "string" ? x.id : null;
    if (k === null || m.has(k)) return null;
    m.set(k, x);
  }
  return m;
}

function walk(path: string, a: unknown, b: unknown, rows: DiffRow[]): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  if (a === undefined || a === null) {
    if (isObj(b) && path === "") {
      for (const k of Object.keys(b)) walk(k, undefined, b[k], rows);
      return;
    }
    rows.push({ path, before: a, after: b, kind: "added" });
    return;
  }
  if (b === undefined || b === null) {
    if (isObj(a) && path === "") {
      for (const k of Object.keys(a)) walk(k, a[k], undefined, rows);
      return;
    }
    rows.push({ path, before: a, after: b, kind: "removed" });
    return;
  }
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) walk(path ? `${path}.${k}` : k, a[k], b[k], rows);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const ka = keyed(a);
    const kb = keyed(b);
    if (ka && kb) {
      const keys = [...new Set([...ka.keys(), ...kb.keys()])];
      for (const k of keys) {
        const x = ka.get(k) as Record<string, unknown> | undefined;
        const y = kb.get(k) as Record<string, unknown> | undefined;
        // {variant, weight} items: compare the weight directly.
        if (x && y && "weight" in x && "weight" in y && Object.keys(x).length === 2 && Object.keys(y).length === 2) {
          walk(`${path}[${k}]`, x.weight, y.weight, rows);
        } else {
          walk(`${path}[${k}]`, x, y, rows);
        }
      }
      return;
    }
  }
  rows.push({ path, before: a, after: b, kind: "changed" });
}
