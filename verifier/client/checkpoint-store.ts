/**
 * Where a client keeps the newest checkpoint it accepted, between runs: a small interface of two methods
 * over text, and the two stores every platform has (memory; a browser's `localStorage` or any object with
 * its `getItem`/`setItem`). The Node file store is in verifier/node/file-store.ts. What is stored is the
 * JSON `{"origin": ..., "checkpoint": ...}` of `kt`'s state file (`kt-state.json`), so a script and `kt`
 * can share one file. Without a kept checkpoint a client still verifies every answer, but cannot see a
 * rollback or a fork across restarts: keep it where the user's other data is kept.
 */

/** Text kept between runs. `load` gives undefined when nothing was saved yet. */
export interface CheckpointStore {
  load(): Promise<string | undefined>;
  save(text: string): Promise<void>;
}

/** A store in memory: lost when the process or page ends (tests, short-lived scripts). */
export function memoryStore(initial?: string): CheckpointStore {
  let text = initial;
  return {
    load: async () => text,
    save: async (t) => {
      text = t;
    },
  };
}

/** The part of the Web Storage API (`localStorage`, `sessionStorage`) a store needs. */
export interface WebStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * A store in a browser's `localStorage` under `key` (default `kt-state`), or in another Web Storage.
 * `setItem` throws when the origin's quota is used up or storage is disabled: that error reaches the caller.
 */
export function localStorageStore(key = 'kt-state', storage?: WebStorage): CheckpointStore {
  const web = (): WebStorage => {
    const s = storage ?? (globalThis as { localStorage?: WebStorage }).localStorage;
    if (!s) throw new Error('localStorageStore: this platform has no localStorage');
    return s;
  };
  return {
    load: async () => web().getItem(key) ?? undefined,
    save: async (text) => web().setItem(key, text),
  };
}
