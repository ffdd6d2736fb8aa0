import { useCallback, useEffect, useRef, useState } from "react";
import type { Page } from "../api/types";

export interface Paged<T> {
  items: T[];
  error: unknown;
  /** The first page is loading. */
  loading: boolean;
  /** A further page is loading. */
  loadingMore: boolean;
  hasMore: boolean;
  loadMore: () => void;
  reload: () => void;
  setItems: (f: (items: T[]) => T[]) => void;
}

/** Cursor paging ("load more"): the first page when deps change, further pages on request. */
export function usePaged<T>(fetchPage: (cursor: string | undefined, signal: AbortSignal) => Promise<Page<T>>, deps: unknown[]): Paged<T> {
  const [items, setItemsState] = useState<T[]>([]);
  const [cursor, setCursor] = useState("");
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [tick, setTick] = useState(0);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const gen = useRef(0);

  useEffect(() => {
    const ctl = new AbortController();
    const g = ++gen.current;
    setLoading(true);
    setError(undefined);
    fetchRef
      .current(undefined, ctl.signal)
      .then((p) => {
        if (g !== gen.current) return;
        setItemsState(p.items ?? []);
        setCursor(p.next_cursor ?? "");
        setLoading(false);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted || g !== gen.current) return;
        setError(e);
        setLoading(false);
      });
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  const loadMore = useCallback(() => {
    if (!cursor || loadingMore) return;
    const g = gen.current;
    const ctl = new AbortController();
    setLoadingMore(true);
    setError(undefined);
    fetchRef
      .current(cursor, ctl.signal)
      .then((p) => {
        if (g !== gen.current) return;
        setItemsState((prev) => [...prev, ...(p.items ?? [])]);
        setCursor(p.next_cursor ?? "");
      })
      .catch((e: unknown) => g === gen.current && setError(e))
      .finally(() => g === gen.current && setLoadingMore(false));
  }, [cursor, loadingMore]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const setItems = useCallback((f: (items: T[]) => T[]) => setItemsState(f), []);
  return { items, error, loading, loadingMore, hasMore: cursor !== "", loadMore, reload, setItems };
}
