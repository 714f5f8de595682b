/**
 * A cache of values derived purely from blueprint data (argument parsers built from a tool's JSON Schema, the JSON
 * Schemas of engine tools), shared by every goal a worker thread runs.
 *
 * Workflow code normally gets a fresh module scope per goal, so a cache there lives and dies with one goal. This
 * module is preloaded into the workflow bundle (src/runtime/workflow-preload.ts): it is evaluated once per worker
 * thread and its state outlives goals. That is safe only because every entry is a pure function of its key, so a goal
 * computes the same value whether it hits or misses (replay stays deterministic), and because entries are never
 * mutated (JSON values are frozen; parsers are only called). The cache is bounded: past `MAX_ENTRIES` the oldest
 * entry goes.
 */

const MAX_ENTRIES = 2000;
const entries = new Map<string, unknown>();

/** Freezes a JSON value and everything in it, so no goal can change what another one reads. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The value of `build()` for `kind` and `key`, computed once per worker thread. `build` must be a pure function of
 * `key` (the key is usually the JSON of the input it derives from), and callers must not mutate what it returns.
 */
export function derived<T>(kind: string, key: string, build: () => T): T {
  const k = `${kind}\u0000${key}`;
  if (entries.has(k)) return entries.get(k) as T;
  const value = build();
  if (entries.size >= MAX_ENTRIES) {
    const oldest = entries.keys().next();
    if (!oldest.done) entries.delete(oldest.value);
  }
  entries.set(k, value);
  return value;
}

/** How many values the cache holds (for tests). */
export function derivedCacheSize(): number {
  return entries.size;
}
