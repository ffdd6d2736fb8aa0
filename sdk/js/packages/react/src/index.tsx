// @waypost/react: <WaypostProvider> and hooks over @waypost/browser.
// Hooks read through useSyncExternalStore, so the first render (server or
// client) needs no effect: it shows bootstrap values, cached values or the
// defaults, and re-renders only when the flag it reads changes.
import { createContext, useCallback, useContext, useMemo, useSyncExternalStore, type ReactNode } from "react";
import {
  resolveFlag,
  typeOfDefault,
  type Bootstrap,
  type EvaluationDetail,
  type FlagResult,
  type WaypostBrowserClient,
} from "@waypost/browser";

interface Store {
  client?: WaypostBrowserClient;
  bootstrap: Map<string, FlagResult>;
}

const WaypostContext = createContext<Store | null>(null);

export interface WaypostProviderProps {
  /** The browser client; may be omitted during SSR (bootstrap values and defaults are served). */
  client?: WaypostBrowserClient;
  /** Evaluated values from the server (e.g. @waypost/node `evaluateAll(userId)`), for a flicker-free first render. */
  bootstrap?: Bootstrap;
  children?: ReactNode;
}

export function WaypostProvider({ client, bootstrap, children }: WaypostProviderProps) {
  const store = useMemo<Store>(() => {
    // Idempotent: the client ignores bootstrap values once the provider answered.
    if (client && bootstrap) client.bootstrap(bootstrap);
    const m = new Map<string, FlagResult>();
    for (const f of bootstrap?.flags ?? []) if (f && typeof f.key === "string") m.set(f.key, f);
    return { client, bootstrap: m };
  }, [client, bootstrap]);
  return <WaypostContext.Provider value={store}>{children}</WaypostContext.Provider>;
}

const noop = () => () => {};

/** The evaluation detail of a flag; re-renders when that flag changes. Type follows the default. */
export function useFlagDetail<T>(key: string, defaultValue: T): EvaluationDetail<T> {
  const store = useContext(WaypostContext);
  const client = store?.client;
  const subscribe = useCallback(
    (onChange: () => void) => (client ? client.on("change", (e) => (e.keys.includes(key) || e.keys.length === 0 ? onChange() : undefined)) : noop()),
    [client, key],
  );
  const getSnapshot = useCallback(() => (client ? client.getFlag(key) : store?.bootstrap.get(key)), [client, store, key]);
  const getServerSnapshot = useCallback(() => (client?.getFlag(key) ?? store?.bootstrap.get(key)), [client, store, key]);
  const entry = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  const ready = client ? client.source !== "none" : entry !== undefined;
  // A literal object default would change every render; key the memo on its JSON.
  const defKey = typeof defaultValue === "object" && defaultValue !== null ? JSON.stringify(defaultValue) : defaultValue;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => resolveFlag(entry, defaultValue, typeOfDefault(defaultValue), ready), [entry, defKey, ready]);
}

/** The value of a flag (the default until known, or on error); re-renders when it changes. */
export function useFlag<T>(key: string, defaultValue: T): T {
  return useFlagDetail(key, defaultValue).value;
}

/** The client given to the nearest <WaypostProvider> (undefined during client-less SSR). */
export function useWaypostClient(): WaypostBrowserClient | undefined {
  return useContext(WaypostContext)?.client;
}

export type { EvaluationDetail, Bootstrap, FlagResult };
