/**
 * Modules the workflow bundle evaluates once per worker thread instead of once per goal.
 *
 * The SDK's reusable V8 context gives every workflow execution its own module cache, so each new goal (and each goal
 * replayed after eviction) evaluated zod, the CEL library and the blueprint schema again before its first line ran:
 * most of the ≈47 ms of a goal's first workflow task (docs/performance.md). Modules named here are evaluated when
 * the context is built, shared by every workflow and deep-frozen by the SDK. Only modules without per-workflow
 * state belong here: libraries of pure functions, the blueprint schema (pure, no I/O, DESIGN.md §1), and the cache of
 * values derived purely from blueprints (src/blueprint/derived-cache.ts), which is shared on purpose. Never a module
 * of src/workflows/ that keeps state between calls.
 */
import { dirname, extname, join } from 'node:path';

/** The modules to preload, for the workflows module at `workflowsPath` (dist/workflows/index.js or its .ts source). */
export function workflowPreloadModules(workflowsPath: string): string[] {
  const ext = extname(workflowsPath);
  // zod comes with the schema (naming it alone does nothing: its package declares no side effects, so webpack drops
  // an import whose value is unused).
  const blueprint = join(dirname(workflowsPath), '..', 'blueprint');
  return ['@marcbachmann/cel-js', join(blueprint, `schema${ext}`), join(blueprint, `derived-cache${ext}`)];
}
