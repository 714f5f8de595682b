/**
 * Type checks of approval conditions (`approval.when`): a CEL expression over `args` (typed by the tool's argument
 * schema), `input` (typed by the blueprint's input schema) and `prior` (the tool's earlier calls in the goal: `count`,
 * and `sum` of each numeric argument). It must give a boolean, and may only read fields the
 * schemas declare, so `args.amout` or a bare `args.amount` fail `baton validate` instead of deciding at run time.
 * Pure: no I/O, so the schema module may use it.
 */
import { Environment } from '@marcbachmann/cel-js';

type CelSchema = { [field: string]: string | CelSchema };

/** The CEL type of a JSON Schema: objects with listed properties are checked field by field, the rest loosely. */
function celType(schema: unknown): string | CelSchema {
  if (!schema || typeof schema !== 'object') return 'dyn';
  const s = schema as { type?: unknown; properties?: unknown; additionalProperties?: unknown };
  switch (s.type) {
    case 'string':
      return 'string';
    // JSON numbers reach CEL as doubles whatever the schema says; comparisons with int literals still work.
    case 'number':
    case 'integer':
      return 'double';
    case 'boolean':
      return 'bool';
    case 'array':
      return 'list';
    case 'object': {
      const props = s.properties;
      if (!props || typeof props !== 'object' || Object.keys(props).length === 0) return 'map';
      // An object that admits more fields than it lists cannot be checked field by field.
      if (s.additionalProperties !== undefined && s.additionalProperties !== false) return 'map';
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, celType(v)]));
    }
    default:
      return 'dyn';
  }
}

function declare(env: Environment, name: string, schema: unknown): void {
  const type = celType(schema);
  if (typeof type === 'string') env.registerVariable(name, schema === undefined ? 'map' : type);
  else env.registerVariable({ name, schema: type });
}

/**
 * The type of `prior`, the tool's earlier calls in the goal: `count`, and `sum` with each numeric argument the
 * tool's schema lists (`prior.sum.amount`); read loosely when the schema lists none or is not known here.
 */
function priorType(args: unknown): CelSchema {
  const type = celType(args);
  const numeric = typeof type === 'string' ? [] : Object.keys(type).filter((k) => type[k] === 'double');
  return { count: 'double', sum: numeric.length ? Object.fromEntries(numeric.map((k) => [k, 'double'])) : 'map' };
}

/**
 * Checks a condition against the schemas it reads; returns the problem, or undefined when it is sound.
 * `args` undefined: the tool's arguments are not known here (a builtin), so they are read loosely.
 */
export function conditionProblem(when: string, args: unknown, input: unknown): string | undefined {
  const env = new Environment();
  declare(env, 'args', args);
  declare(env, 'input', input);
  env.registerVariable({ name: 'prior', schema: priorType(args) });
  const checked = env.check(when);
  if (!checked.valid) {
    const first = (checked.error?.message ?? 'invalid').split('\n')[0];
    return `${first} (the condition reads args from the tool's parameters, input from the blueprint's input schema, and prior: the count and sums of the tool's earlier calls)`;
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return `the condition gives ${checked.type}, not true or false; compare it, e.g. \`${when} > 100\``;
  }
  return undefined;
}
