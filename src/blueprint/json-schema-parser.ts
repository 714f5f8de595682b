/**
 * Argument parsers built from a tool's JSON Schema (zod's `fromJSONSchema`), shared by every goal a worker thread runs
 * through the derived cache. Preloaded into the workflow bundle (src/runtime/workflow-preload.ts) with zod's JSON
 * Schema reader, which every new goal otherwise evaluated again before its first task (about a millisecond under
 * load, issue 16). Pure: a parser is a function of the schema's JSON.
 */
import { z } from 'zod';
import { derived } from './derived-cache.js';

/** A parser for a tool's JSON Schema, or undefined when zod cannot express it (the tool then checks its own). */
export function parserForJsonSchema(schema: Record<string, unknown>): z.ZodType | undefined {
  // Building a parser costs about a millisecond; every goal of the same blueprint builds the same one.
  return derived('tool-parser', JSON.stringify(schema), () => {
    try {
      return z.fromJSONSchema(schema);
    } catch {
      return undefined;
    }
  });
}
