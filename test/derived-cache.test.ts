/** The cross-goal cache of values derived from blueprints: computed once per key, frozen JSON, bounded. */
import { describe, expect, it } from 'vitest';
import { deepFreeze, derived, derivedCacheSize } from '../src/blueprint/derived-cache.js';
import { parserForJsonSchema } from '../src/blueprint/json-schema-parser.js';
import { workflowPreloadModules } from '../src/runtime/workflow-preload.js';
import { delegateArgs, memoryWriteArgs } from '../src/workflows/engine-tool-registry.js';

describe('derived-value cache', () => {
  it('builds a value once per kind and key', () => {
    let builds = 0;
    const build = () => {
      builds += 1;
      return { built: builds };
    };
    const a = derived('test-once', 'k1', build);
    expect(derived('test-once', 'k1', build)).toBe(a);
    expect(builds).toBe(1);
    expect(derived('test-once', 'k2', build)).not.toBe(a);
    expect(derived('test-other', 'k1', build)).not.toBe(a);
    expect(builds).toBe(3);
  });

  it('freezes JSON values all the way down', () => {
    const value = deepFreeze({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] });
    expect(() => {
      value.properties.n.type = 'string';
    }).toThrow(TypeError);
    expect(Object.isFrozen(value.required)).toBe(true);
  });

  it('stays bounded, dropping the oldest entries first', () => {
    for (let i = 0; i < 2500; i++) derived('test-bound', String(i), () => i);
    expect(derivedCacheSize()).toBeLessThanOrEqual(2000);
    let rebuilt = false;
    derived('test-bound', '0', () => (rebuilt = true));
    expect(rebuilt).toBe(true);
  });

  it('is preloaded into workflow bundles, beside the blueprint schema', () => {
    const modules = workflowPreloadModules('/app/dist/workflows/index.js');
    expect(modules).toContain('/app/dist/blueprint/derived-cache.js');
    expect(modules).toContain('/app/dist/blueprint/schema.js');
    expect(modules).toContain('/app/dist/blueprint/json-schema-parser.js');
  });

  it('shares engine tool argument schemas and JSON Schema parsers between goals, built on first use', () => {
    expect(memoryWriteArgs()).toBe(memoryWriteArgs());
    expect(delegateArgs(['a', 'b'], 2)).toBe(delegateArgs(['a', 'b'], 2));
    expect(delegateArgs(['a', 'b'], 3)).not.toBe(delegateArgs(['a', 'b'], 2));
    expect(delegateArgs(['a', 'b'], 2).safeParse({ tasks: [{ agent: 'c', task: 'x' }] }).success).toBe(false);
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    const parser = parserForJsonSchema(schema);
    expect(parserForJsonSchema({ ...schema })).toBe(parser);
    expect(parser?.safeParse({ n: 'one' }).success).toBe(false);
  });
});
