/** Reading blueprints from YAML: every problem reported as FILE:LINE:COL with the field path and the fix. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { BlueprintError, type BlueprintProblem } from './errors.js';
import { BlueprintSchema, type Blueprint } from './schema.js';
import { canonicalJson } from '../text.js';

/** A validated blueprint with the hash that pins it. */
export interface LoadedBlueprint {
  blueprint: Blueprint;
  /** sha256 of the normalized blueprint, hex. */
  hash: string;
  file: string;
}

type Path = readonly PropertyKey[];

function locate(doc: Document, counter: LineCounter, path: Path, key?: string): { line: number; col: number } {
  // Walk down as far as the path exists; a missing field is reported at its parent.
  let node: unknown = doc.contents;
  let offset = 0;
  const rangeOf = (n: unknown): void => {
    if (isNode(n) && n.range) offset = n.range[0];
  };
  rangeOf(node);
  for (const segment of [...path, ...(key === undefined ? [] : [key])]) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      rangeOf(segment === key ? pair.key : (pair.value ?? pair.key));
      node = segment === key ? pair.key : pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      rangeOf(item);
      node = item;
    } else {
      break;
    }
  }
  const pos = counter.linePos(offset);
  return { line: pos.line, col: pos.col };
}

function formatPath(path: Path): string {
  return (
    path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '') || '(top)'
  );
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `missing required field (expected ${issue.expected})` : issue.message;
    case 'invalid_union':
      return 'unknown tool type; use type: http or type: builtin (MCP servers go under mcp)';
    default:
      return issue.message;
  }
}

/** A problem found after loading (by `baton validate --connect`), at `path` in blueprint `text`. */
export function problemAt(text: string, file: string, path: Path, message: string): BlueprintProblem {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  return { file, ...locate(doc, counter, path), path: formatPath(path), message };
}

/** sha256 over the canonical JSON of a normalized blueprint. */
export function hashBlueprint(blueprint: Blueprint): string {
  return createHash('sha256').update(canonicalJson(blueprint)).digest('hex');
}

/**
 * Parses and validates blueprint YAML text.
 * @throws BlueprintError listing every problem with its line and column.
 */
export function parseBlueprint(text: string, file = '<input>'): LoadedBlueprint {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  const problems: BlueprintProblem[] = [];
  for (const err of doc.errors) {
    const pos = counter.linePos(err.pos[0]);
    const message =
      err.code === 'DUPLICATE_KEY'
        ? 'duplicate key; each key may appear once in a mapping, remove or rename one'
        : `YAML syntax: ${err.message.split('\n')[0]}`;
    // One mistake often trips the parser several times; the first report of each message locates it.
    if (err.code !== 'DUPLICATE_KEY' && problems.some((p) => p.message === message)) continue;
    problems.push({ file, line: pos.line, col: pos.col, path: '', message });
  }
  if (problems.length) throw new BlueprintError(problems);

  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new BlueprintError([
      { file, line: 1, col: 1, path: '', message: 'a blueprint is a YAML mapping (key: value)' },
    ]);
  }
  const parsed = BlueprintSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problems.push({
            file,
            ...locate(doc, counter, issue.path, key),
            path: formatPath([...issue.path, key]),
            message: `unknown field "${key}"; check its spelling or remove it (see docs/blueprints.md)`,
          });
        }
        continue;
      }
      problems.push({
        file,
        ...locate(doc, counter, issue.path),
        path: formatPath(issue.path),
        message: describeIssue(issue),
      });
    }
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new BlueprintError(problems);
  }
  return { blueprint: parsed.data, hash: hashBlueprint(parsed.data), file };
}

/** Reads and validates a blueprint file. */
export async function loadBlueprint(file: string): Promise<LoadedBlueprint> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err);
    throw new BlueprintError([{ file, line: 1, col: 1, path: '', message: `cannot read blueprint: ${reason}` }]);
  }
  return parseBlueprint(text, file);
}

/** The JSON Schema of blueprints as written, for editors (yaml-language-server) and `baton schema`. */
export function blueprintJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://baton.dev/schema/blueprint-v1.json',
    title: 'Baton blueprint (baton/v1)',
    ...z.toJSONSchema(BlueprintSchema, { io: 'input', unrepresentable: 'any' }),
  };
}
