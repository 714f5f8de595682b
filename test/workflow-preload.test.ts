/**
 * The workflow bundle preloads the whole goal loop (src/runtime/workflow-preload.ts): every module reachable from
 * src/workflows/index.ts is evaluated once per worker thread and shared by every goal it runs. That is safe only while
 * no such module keeps state at module level. This test walks the import graph from the workflows module and fails on
 * a module-level `let`/`var` or a mutable container (`new Map()`, `[]`, ...) that is not one of the known pure caches.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workflowPreloadModules } from '../src/runtime/workflow-preload.js';

const SRC = resolve(import.meta.dirname, '..', 'src');

/**
 * Module-level state shared on purpose: every value in it is a pure function of its key, so a goal computes the same
 * thing whether it hits or misses (each module's header says why).
 */
const PURE_CACHES = new Set([
  'blueprint/derived-cache.ts: entries',
  'identity/assertion.ts: recent',
  'identity/ed25519-verify.ts: keys',
  'workflows/engine-tools.ts: jsonSchemas',
]);

/** Module-level declarations that can hold state between goals, as `name` per line of `source`. */
function moduleLevelState(source: string): string[] {
  const found: string[] = [];
  for (const line of source.split('\n')) {
    const mutable = /^(?:export\s+)?(?:let|var)\s+([A-Za-z_$][\w$]*)/.exec(line);
    const container =
      /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:new\s+(?:Map|Set|WeakMap|WeakSet|Array)\b|\[\s*\]|\{\s*\})/.exec(
        line,
      );
    const name = mutable?.[1] ?? container?.[1];
    if (name) found.push(name);
  }
  return found;
}

/** Relative imports of a TypeScript module, as source paths. */
function importsOf(file: string, source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'(\.[^']+)\.js';/gms)) {
    out.push(join(dirname(file), `${m[1]}.ts`));
  }
  return out;
}

/** Every Baton module the workflows module reaches, with its source. */
function workflowGraph(): Map<string, string> {
  const seen = new Map<string, string>();
  const queue = [join(SRC, 'workflows', 'index.ts')];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const source = readFileSync(file, 'utf8');
    seen.set(file, source);
    queue.push(...importsOf(file, source));
  }
  return seen;
}

describe('preloaded workflow modules', () => {
  it('preloads the workflows module, and with it the goal loop', () => {
    const modules = workflowPreloadModules('/app/dist/workflows/index.js');
    expect(modules).toContain('/app/dist/workflows/index.js');
  });

  it('finds module-level state when it is there', () => {
    const planted = [
      'let counter = 0;',
      'export let current: string | undefined;',
      'const seen = new Map<string, number>();',
      'const pending: string[] = [];',
      'const byId: Record<string, number> = {};',
      'export const LIMIT = 3;',
      'const NAMES = new Set(["a"]) ;',
      '  let inside = 1;',
    ].join('\n');
    expect(moduleLevelState(planted)).toEqual(['counter', 'current', 'seen', 'pending', 'byId', 'NAMES']);
  });

  it('keeps no state at module level in any module the goal loop reaches, beyond the pure caches', () => {
    const graph = workflowGraph();
    expect(graph.size).toBeGreaterThan(30);
    const state = [...graph].flatMap(([file, source]) =>
      moduleLevelState(source).map((name) => `${file.slice(SRC.length + 1)}: ${name}`),
    );
    expect(state.filter((s) => !PURE_CACHES.has(s))).toEqual([]);
    // Each known cache is still there (else this list is stale and would hide a new one under its name).
    expect(state.filter((s) => PURE_CACHES.has(s)).sort()).toEqual([...PURE_CACHES].sort());
  });
});
