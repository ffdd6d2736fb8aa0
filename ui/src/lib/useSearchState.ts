import { useCallback } from "react";
import { useSearchParams } from "react-router";

/** Query-string parameters as page state: links keep filters, Back undoes them. */
export function useSearchState<K extends string>(keys: readonly K[]): [Record<K, string>, (patch: Partial<Record<K, string>>, replace?: boolean) => void] {
  const [sp, setSp] = useSearchParams();
  const values = Object.fromEntries(keys.map((k) => [k, sp.get(k) ?? ""])) as Record<K, string>;
  const update = useCallback(
    (patch: Partial<Record<K, string>>, replace = true) => {
      setSp(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(patch) as [K, string | undefined][]) {
            if (v) next.set(k, v);
            else next.delete(k);
          }
          return next;
        },
        { replace },
      );
    },
    [setSp],
  );
  return [values, update];
}
