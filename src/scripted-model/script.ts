/**
 * Scripts for the scripted model: canned chat-completion replies chosen by matching the request. They stand in for
 * a real model in the offline demo and in tests, and say so; they are not a model.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';

const ReplySchema = z.strictObject({
  when: z
    .strictObject({
      agent: z.string().optional().describe('x-baton-agent header of the request'),
      after: z.enum(['user', 'tool', 'assistant']).optional().describe('role of the last message'),
      tool: z.string().optional().describe('the last message is the result of this tool'),
      contains: z.string().optional().describe('the last message contains this text'),
      turn: z
        .int()
        .positive()
        .optional()
        .describe('the request holds N-1 assistant messages (1-based; long transcripts reach the model windowed)'),
    })
    .default({}),
  content: z.string().nullable().default(null),
  toolCalls: z.array(z.strictObject({ name: z.string(), arguments: z.unknown().default({}) })).default([]),
  /** Raw `arguments` text, for scripting malformed output. */
  rawArguments: z.string().optional(),
  /** Answer with an HTTP error instead, `times` times (then fall through to the next matching reply). */
  fail: z
    .strictObject({
      status: z.int(),
      message: z.string().default('scripted failure'),
      retryAfter: z.number().optional(),
      code: z.string().optional().describe('error.code in the body (insufficient_quota, context_length_exceeded)'),
      body: z.unknown().optional().describe('the whole error body to send instead of { error: { message } }'),
      times: z.int().positive().default(1),
    })
    .optional(),
  /** Answer only after `ms`, `times` times (then at once): for testing model-call timeouts. */
  hang: z.strictObject({ ms: z.int().positive(), times: z.int().positive().default(1) }).optional(),
  usage: z
    .strictObject({
      input: z.int(),
      output: z.int(),
      cached: z.int().optional().describe('prompt_tokens_details.cached_tokens'),
      reasoning: z.int().optional().describe('completion_tokens_details.reasoning_tokens'),
    })
    .optional(),
  /** Refuse a streamed request with tools the way llama-cpp-python does (an empty stream); answer unstreamed ones. */
  refuseStreamWithTools: z.boolean().optional(),
  /** Send no `usage` at all, as some servers do. */
  noUsage: z.boolean().optional(),
  /** The finish reason to report (default: tool_calls with tool calls, else stop): for truncated or filtered replies. */
  finishReason: z.enum(['stop', 'length', 'tool_calls', 'content_filter']).optional(),
  /** A refusal (`message.refusal`), as OpenAI's models send when they decline. */
  refusal: z.string().optional(),
  /** Tool-call ids to send, by position; null sends none (default: unique ids). */
  toolCallIds: z.array(z.string().nullable()).optional(),
  /** When streaming, send one chunk every `ms` (`tokens` chunks instead of the content's words), `times` times. */
  drip: z
    .strictObject({
      ms: z.int().positive(),
      tokens: z.int().positive().optional(),
      times: z.int().positive().default(1_000_000),
    })
    .optional(),
});

export const ScriptSchema = z.strictObject({
  goal: z.string().describe('blueprint name (x-baton-goal header) this script answers for'),
  /** Refuse prompts over this many tokens (4 characters a token) as endpoints do: 400 context_length_exceeded. */
  contextWindow: z.int().positive().optional(),
  replies: z.array(ReplySchema).min(1),
});

export type Script = z.output<typeof ScriptSchema>;
export type ScriptInput = z.input<typeof ScriptSchema>;
export type ScriptedReply = Script['replies'][number];

/** Reads a `*.script.yaml` file (docs/scripted-model.md describes the format). */
export async function loadScript(file: string): Promise<Script> {
  const parsed = ScriptSchema.safeParse(parse(await readFile(file, 'utf8')));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`${file}: invalid script at ${first?.path.join('.') ?? '(top)'}: ${first?.message ?? 'unknown'}`);
  }
  return parsed.data;
}

const PLACEHOLDER = /\{\{\s*input\.([\w.-]+)\s*\}\}/g;
const WHOLE = /^\{\{\s*input\.([\w.-]+)\s*\}\}$/;

function lookup(input: unknown, path: string): unknown {
  let value = input;
  for (const key of path.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/**
 * Fills `{{input.FIELD}}` placeholders in a scripted reply's text and tool-call arguments from the goal input, so a
 * demo follows `--input`. A string that is only a placeholder takes the field's value as it is (a number stays a
 * number); a field the input lacks reads `(no input.FIELD)`, so a script mistake shows.
 */
export function fillInput<T>(value: T, input: unknown): T {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const found = lookup(input, whole[1] ?? '');
      return (found === undefined ? `(no input.${whole[1]})` : found) as T;
    }
    return value.replace(PLACEHOLDER, (_, path: string) => {
      const found = lookup(input, path);
      return found === undefined ? `(no input.${path})` : typeof found === 'string' ? found : JSON.stringify(found);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v: unknown) => fillInput(v, input)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillInput(v, input)])) as T;
  }
  return value;
}

/** The goal input a request carries: the JSON after `Goal input:` in its first message that has one. */
export function goalInputOf(contents: readonly string[]): unknown {
  for (const text of contents) {
    const at = text.indexOf('Goal input:\n');
    if (at < 0) continue;
    try {
      return JSON.parse(text.slice(at + 'Goal input:\n'.length));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The parts of a request a reply can match on. */
export interface RequestFacts {
  agent: string | undefined;
  lastRole: string;
  lastTool: string | undefined;
  lastContent: string;
  turn: number;
}

/** True when a reply's `when` matches the request. */
export function matches(reply: ScriptedReply, facts: RequestFacts): boolean {
  const w = reply.when;
  return (
    (w.agent === undefined || w.agent === facts.agent) &&
    (w.after === undefined || w.after === facts.lastRole) &&
    (w.tool === undefined || w.tool === facts.lastTool) &&
    (w.contains === undefined || facts.lastContent.includes(w.contains)) &&
    (w.turn === undefined || w.turn === facts.turn)
  );
}
