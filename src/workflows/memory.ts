/**
 * Shared memory: a small key-value store in the goal's state that every agent of the goal reads and writes with
 * the memory_read / memory_write tools. Pure functions; the goal keeps the entries and carries them across runs.
 */
import type { MemoryEntry } from './definitions.js';

/** Largest value (as JSON) one entry may hold, so memory stays small enough to carry and show. */
export const MAX_VALUE_CHARS = 8_000;

/** Writes or replaces a key; returns what the model is told. */
export function writeMemory(
  memory: MemoryEntry[],
  entry: MemoryEntry,
  maxEntries: number,
): { ok: boolean; output: string } {
  const size = (JSON.stringify(entry.value) ?? '').length;
  if (entry.value === undefined || size > MAX_VALUE_CHARS) {
    return {
      ok: false,
      output: `error: memory values are JSON of at most ${MAX_VALUE_CHARS} characters (this one: ${size}); save a summary`,
    };
  }
  const index = memory.findIndex((e) => e.key === entry.key);
  if (index >= 0) {
    memory[index] = entry;
    return { ok: true, output: `saved ${entry.key} (replaced its previous value)` };
  }
  if (memory.length >= maxEntries) {
    return {
      ok: false,
      output: `error: shared memory is full (${maxEntries} keys); replace an existing key instead: ${memory.map((e) => e.key).join(', ')}`,
    };
  }
  memory.push(entry);
  return { ok: true, output: `saved ${entry.key}` };
}

/** Reads one key, the keys under a prefix, or everything, as JSON with who wrote each entry and when. */
export function readMemory(memory: readonly MemoryEntry[], query: { key?: string; prefix?: string }): string {
  const found = memory.filter(
    (e) =>
      (query.key === undefined || e.key === query.key) &&
      (query.prefix === undefined || e.key.startsWith(query.prefix)),
  );
  if (found.length === 0) {
    const what =
      query.key !== undefined
        ? `key ${query.key}`
        : query.prefix !== undefined
          ? `keys under ${query.prefix}`
          : 'entries';
    return `no ${what} in shared memory; keys: ${memory.map((e) => e.key).join(', ') || 'none'}`;
  }
  return JSON.stringify(
    found.map(({ key, value, agent, step, task }) => ({ key, value, agent, step, ...(task ? { task } : {}) })),
  );
}

/** Merges what a delegated task wrote into the parent's memory; a key the task wrote replaces the parent's. */
export function mergeMemory(memory: MemoryEntry[], writes: readonly MemoryEntry[], maxEntries: number): string[] {
  const dropped: string[] = [];
  for (const entry of writes) {
    if (!writeMemory(memory, entry, maxEntries).ok) dropped.push(entry.key);
  }
  return dropped;
}
