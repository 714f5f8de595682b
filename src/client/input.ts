/**
 * Goal input as the CLI takes it: `--input` JSON or `--input-file`, checked against the blueprint's input schema
 * before anything starts, with errors that name the field and the fields the schema has.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { LoadedBlueprint } from '../blueprint/load.js';
import { formatIssues } from '../text.js';
import { GoalCommandError } from './errors.js';

/** An example `--input` for a blueprint, built from its own schema: its required fields (else its first ones). */
export function inputExample(loaded: LoadedBlueprint): string {
  const schema = loaded.blueprint.input;
  const props = (schema?.properties ?? {}) as Record<string, { type?: string; default?: unknown }>;
  const required = (schema?.required as string[] | undefined) ?? [];
  const names = (required.length ? required : Object.keys(props)).slice(0, 2);
  const sample = Object.fromEntries(
    names.map((n) => {
      const p = props[n] ?? {};
      return [n, p.default ?? (p.type === 'number' || p.type === 'integer' ? 1 : p.type === 'boolean' ? true : '...')];
    }),
  );
  return `--input '${JSON.stringify(sample)}'`;
}

/** Reads `--input` or `--input-file` as JSON; `{}` when neither is given. */
export async function readInput(
  loaded: LoadedBlueprint,
  opts: { input?: string; inputFile?: string },
): Promise<unknown> {
  if (opts.input !== undefined && opts.inputFile !== undefined)
    throw new GoalCommandError('use --input or --input-file, not both', 'usage');
  let text = opts.input;
  const from = opts.inputFile === undefined ? '--input' : `--input-file ${opts.inputFile}`;
  if (opts.inputFile !== undefined) {
    try {
      text = await readFile(opts.inputFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
      throw new GoalCommandError(`cannot read --input-file ${opts.inputFile}: ${why}`, 'bad_input');
    }
  }
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GoalCommandError(
      `${from} is not valid JSON (${(err as Error).message}); e.g. ${inputExample(loaded)}`,
      'bad_input',
    );
  }
}

/**
 * Fields of `value` that an object schema (`properties`, and no `additionalProperties`) does not declare, with the
 * fields it does declare; nested objects are checked the same way.
 */
export function unknownFields(
  schema: Record<string, unknown>,
  value: unknown,
  path = '',
): { field: string; known: string[] }[] {
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (!props || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const known = Object.keys(props);
  const found: { field: string; known: string[] }[] = [];
  for (const [key, v] of Object.entries(value)) {
    const sub = props[key];
    if (sub) found.push(...unknownFields(sub, v, `${path}${key}.`));
    else if (schema.additionalProperties === undefined || schema.additionalProperties === false)
      found.push({ field: `${path}${key}`, known: known.map((k) => `${path}${k}`) });
  }
  return found;
}

/**
 * Checks goal input against the blueprint's input schema and fills its defaults; errors name each failing field.
 * A field the schema does not declare is refused (unless the schema sets `additionalProperties`), naming the fields
 * it has: a typo must not run the goal on a default.
 */
export function checkInput(loaded: LoadedBlueprint, input: unknown): unknown {
  const schema = loaded.blueprint.input;
  if (!schema) return input;
  const unknown = unknownFields(schema, input);
  if (unknown.length) {
    const first = unknown[0]!;
    throw new GoalCommandError(
      `input field${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u.field}"`).join(', ')} ` +
        `${unknown.length > 1 ? 'are' : 'is'} not in ${loaded.blueprint.name}'s input schema (${loaded.file}); ` +
        `its fields: ${first.known.join(', ') || 'none'}`,
      'bad_input',
    );
  }
  const parsed = z.fromJSONSchema(schema).safeParse(input);
  if (!parsed.success) {
    const details = formatIssues(parsed.error.issues, '(input)');
    throw new GoalCommandError(`input does not match ${loaded.file}'s input schema: ${details}`, 'bad_input');
  }
  return parsed.data;
}
