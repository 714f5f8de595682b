/**
 * Modules the workflow bundle evaluates once per worker thread instead of once per goal.
 *
 * The SDK's reusable V8 context gives every workflow execution its own module cache, so each new goal (and each goal
 * replayed after eviction) evaluated zod, the CEL library and the blueprint schema again before its first line ran:
 * most of the ≈47 ms of a goal's first workflow task (docs/performance.md). Modules named here are evaluated when
 * the context is built, shared by every workflow and deep-frozen by the SDK (what their exports reach). Only modules
 * without per-workflow state belong here: libraries of pure functions, the blueprint schema (pure, no I/O, DESIGN.md
 * §1), and the cache of values derived purely from blueprints (src/blueprint/derived-cache.ts), which is shared on
 * purpose, with the parsers it keeps for tools' JSON Schemas (src/blueprint/json-schema-parser.ts, which brings zod's
 * JSON Schema reader).
 *
 * The workflows module itself is preloaded too, and with it the whole goal loop (about 40 modules of src/workflows/
 * and the SDK's public API): evaluating them took 1–2 ms of every goal's first task and of every evicted goal's
 * replay (issue 16). That is safe because no module of the graph keeps state at module level: each goal's state
 * lives in the objects its workflow function creates, activities are proxies resolved when called, and the few
 * module-level caches hold only pure functions of their keys (the list and the check: test/workflow-preload.test.ts,
 * which fails on a new module-level `let` or container). Module scope runs before any workflow exists, so it must
 * not call the workflow API (`workflowInfo()`, `patched()`, ...): only functions may.
 *
 * The identity checks (src/identity/decisions.ts, which brings the Ed25519 curve of @noble/curves and the hashes of
 * @noble/hashes) verify every signed start, decision and answer. The curve's first verification builds a table of
 * multiples of the base point (noble's lazy `precompute(8)`: ≈20 ms on an idle core, 100 ms and more on this project's
 * loaded 2-core machine); evaluated per goal, every goal's start and every evicted goal's next decision paid for it.
 * Preloaded, the table is built once per worker thread and shared: a pure function of the curve, kept in the
 * library's own WeakMaps, so sharing it changes no verdict. (Naming @noble/curves here would do nothing: its package
 * declares no side effects, so webpack drops an import whose value is unused; decisions.ts uses it.)
 */
import { dirname, extname, join } from 'node:path';

/** The modules to preload, for the workflows module at `workflowsPath` (dist/workflows/index.js or its .ts source). */
export function workflowPreloadModules(workflowsPath: string): string[] {
  const ext = extname(workflowsPath);
  // zod comes with the schema (naming it alone does nothing: its package declares no side effects, so webpack drops
  // an import whose value is unused).
  const blueprint = join(dirname(workflowsPath), '..', 'blueprint');
  const identity = join(dirname(workflowsPath), '..', 'identity');
  return [
    '@marcbachmann/cel-js',
    join(blueprint, `schema${ext}`),
    join(blueprint, `derived-cache${ext}`),
    join(blueprint, `json-schema-parser${ext}`),
    join(identity, `decisions${ext}`),
    workflowsPath,
  ];
}
