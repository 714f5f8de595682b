/**
 * A scripted OpenAI-compatible chat-completions server on loopback, for the offline demo and the tests. Each reply
 * comes from a script, chosen by matching the request; a request no script answers is a loud 400 error, never a
 * guess. It also serves a small demo API (`/demo/...`) that the example blueprints' HTTP tools call. Over 300 lines
 * because it answers every reply shape the tests need (streaming, refusals, filtered and cut-off replies, usage,
 * prompt caching); the matching and the demo API live in their own modules.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleDemoApi, newDemoLedger, type DemoLedger } from './demo-api.js';
import { PromptCache } from './prompt-cache.js';
import {
  fillInput,
  goalInputOf,
  matches,
  ScriptSchema,
  type RequestFacts,
  type Script,
  type ScriptInput,
} from './script.js';

interface OpenAiMessage {
  role: string;
  content?: string | null;
  tool_calls?: { id: string; function: { name: string } }[];
  tool_call_id?: string;
}

/** One request the server saw, for tests to assert on. */
export interface SeenRequest {
  goal: string | undefined;
  agent: string | undefined;
  model: string;
  facts: RequestFacts;
  tools: string[];
  answered: 'reply' | 'fail' | 'unmatched';
  /** The request body as sent, for tests that check the wire format. */
  body: Record<string, unknown>;
  /** When it arrived (ms since the epoch). */
  at: number;
  /** For a streamed reply: true once the whole stream was sent, false if the client closed it before the end. */
  streamCompleted?: boolean;
}

export interface ScriptedModel {
  /** Base URL for the openai SDK (`.../v1`). */
  baseURL: string;
  /** Base URL of the demo API the example blueprints call. */
  demoURL: string;
  requests: SeenRequest[];
  ledger: DemoLedger;
  /** Adds or replaces the script for a goal. */
  load(script: ScriptInput): void;
  close(): Promise<void>;
}

function facts(agent: string | undefined, messages: OpenAiMessage[]): RequestFacts {
  const last = messages.at(-1);
  let lastTool: string | undefined;
  if (last?.role === 'tool') {
    for (const m of messages) {
      const call = m.tool_calls?.find((c) => c.id === last.tool_call_id);
      if (call) lastTool = call.function.name;
    }
  }
  return {
    agent,
    lastRole: last?.role ?? 'none',
    lastTool,
    lastContent: typeof last?.content === 'string' ? last.content : '',
    turn: messages.filter((m) => m.role === 'assistant').length + 1,
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

type Completion = {
  id: string;
  model: string;
  created: number;
  choices: {
    finish_reason: string;
    message: {
      content: string | null;
      refusal?: string;
      tool_calls?: { id: string | null | undefined; type: string; function: { name: string; arguments: string } }[];
    };
  }[];
  usage?: unknown;
};

/**
 * Sends a completion as server-sent events, the way OpenAI streams: the text in word-sized chunks, each tool call
 * as a header chunk and an arguments chunk, the finish reason, then usage in a last chunk without choices. With
 * `drip`, one chunk every `ms`; `seen.streamCompleted` records whether the client stayed to the end.
 */
function streamReply(
  res: ServerResponse,
  completion: Completion,
  drip: { ms: number; tokens?: number | undefined } | undefined,
  seen: SeenRequest,
): void {
  const choice = completion.choices[0];
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
  };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): unknown => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const text = choice?.message.content ?? '';
  const pieces = drip?.tokens
    ? Array.from({ length: drip.tokens }, (_, i) => `tok${i} `)
    : (text.match(/\S+\s*|\s+/g) ?? []);
  const events: unknown[] = [chunk({ role: 'assistant', content: '' })];
  for (const p of pieces) events.push(chunk({ content: p }));
  if (choice?.message.refusal) events.push(chunk({ refusal: choice.message.refusal }));
  (choice?.message.tool_calls ?? []).forEach((c, index) => {
    events.push(
      chunk({
        tool_calls: [
          {
            index,
            ...(c.id ? { id: c.id } : {}),
            type: 'function',
            function: { name: c.function.name, arguments: '' },
          },
        ],
      }),
    );
    events.push(chunk({ tool_calls: [{ index, function: { arguments: c.function.arguments } }] }));
  });
  events.push(chunk({}, choice?.finish_reason ?? 'stop'));
  if (completion.usage) events.push({ ...base, choices: [], usage: completion.usage });
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  seen.streamCompleted = false;
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  let i = 0;
  const next = (): void => {
    if (closed) return;
    if (i < events.length) {
      res.write(`data: ${JSON.stringify(events[i])}\n\n`);
      i += 1;
      if (drip) setTimeout(next, drip.ms);
      else next();
      return;
    }
    res.end('data: [DONE]\n\n');
    seen.streamCompleted = true;
  };
  next();
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

/** Starts the scripted model on 127.0.0.1 (port 0 picks a free port). */
export async function startScriptedModel(
  options: {
    scripts?: ScriptInput[];
    port?: number;
    quiet?: boolean;
    /** Delay the demo API's refund answers (after recording them), to test a worker dying mid-call. */
    refundDelayMs?: number;
  } = {},
): Promise<ScriptedModel> {
  const scripts = new Map<string, Script>();
  const failuresLeft = new Map<object, number>();
  const hangsLeft = new Map<object, number>();
  const dripsLeft = new Map<object, number>();
  const requests: SeenRequest[] = [];
  const promptCache = new PromptCache();
  const ledger: DemoLedger = newDemoLedger();
  let completions = 0;
  const load = (input: ScriptInput): void => {
    const script = ScriptSchema.parse(input);
    scripts.set(script.goal, script);
  };
  for (const s of options.scripts ?? []) load(s);

  const complete = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): void => {
    const goal = req.headers['x-baton-goal'] as string | undefined;
    const agent = req.headers['x-baton-agent'] as string | undefined;
    const messages = (Array.isArray(body.messages) ? body.messages : []) as OpenAiMessage[];
    const f = facts(agent, messages);
    const tools = Array.isArray(body.tools)
      ? body.tools.map((t: { function?: { name?: string } }) => t.function?.name ?? '?')
      : [];
    const seen: SeenRequest = {
      goal,
      agent,
      model: String(body.model),
      facts: f,
      tools,
      answered: 'unmatched',
      body,
      at: Date.now(),
    };
    requests.push(seen);
    const script = goal === undefined ? undefined : scripts.get(goal);
    const promptTokens = Math.ceil(
      messages.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : 0), 0) / 4,
    );
    if (script?.contextWindow !== undefined && promptTokens > script.contextWindow) {
      seen.answered = 'fail';
      send(res, 400, {
        error: {
          message: `This model's maximum context length is ${script.contextWindow} tokens. However, your messages resulted in ${promptTokens} tokens.`,
          type: 'invalid_request_error',
          code: 'context_length_exceeded',
        },
      });
      return;
    }
    const reply = script?.replies.find((r) => {
      if (!matches(r, f)) return false;
      return !r.fail || (failuresLeft.get(r) ?? r.fail.times) > 0;
    });
    if (!reply) {
      const why = script
        ? `no scripted reply in "${goal}" matches agent=${agent ?? '-'} last=${f.lastRole}${f.lastTool ? `(${f.lastTool})` : ''} turn=${f.turn} content=${JSON.stringify(f.lastContent.slice(0, 120))}`
        : `no script for goal "${goal ?? '(no x-baton-goal header)'}"; loaded: ${[...scripts.keys()].join(', ') || 'none'}`;
      if (!options.quiet) process.stderr.write(`[scripted-model] UNMATCHED REQUEST: ${why}\n`);
      send(res, 400, {
        error: { message: `scripted model: ${why}`, type: 'invalid_request_error', code: 'script_unmatched' },
      });
      return;
    }
    if (reply.refuseStreamWithTools && body.stream === true && tools.length) {
      // As llama-cpp-python does: a 200 event stream that ends before its first chunk.
      seen.answered = 'fail';
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end();
      return;
    }
    if (reply.fail) {
      failuresLeft.set(reply, (failuresLeft.get(reply) ?? reply.fail.times) - 1);
      seen.answered = 'fail';
      const headers: Record<string, string> =
        reply.fail.retryAfter === undefined ? {} : { 'retry-after': String(reply.fail.retryAfter) };
      const error = {
        message: reply.fail.message,
        type: reply.fail.code === 'insufficient_quota' ? 'insufficient_quota' : 'scripted_failure',
        ...(reply.fail.code ? { code: reply.fail.code } : {}),
      };
      send(res, reply.fail.status, reply.fail.body ?? { error }, headers);
      return;
    }
    seen.answered = 'reply';
    completions += 1;
    const hang = reply.hang && (hangsLeft.get(reply) ?? reply.hang.times) > 0 ? reply.hang.ms : 0;
    if (reply.hang && hang) hangsLeft.set(reply, (hangsLeft.get(reply) ?? reply.hang.times) - 1);
    const promptChars = messages.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : 0), 0);
    const reportedTokens = reply.usage?.input ?? Math.ceil(promptChars / 4);
    // A script's own figure wins; otherwise the simulated cache says how much of the prompt repeats the last one.
    const cachedTokens =
      reply.usage?.cached ??
      promptCache.cachedTokens(`${goal ?? ''}/${agent ?? ''}`, body.tools, messages, reportedTokens);
    const input = goalInputOf(messages.flatMap((m) => (typeof m.content === 'string' ? [m.content] : [])));
    const content = fillInput(reply.content, input);
    const toolCalls = reply.toolCalls.map((c, i) => ({
      id: reply.toolCallIds ? reply.toolCallIds[i] : `call_${completions}_${i}`,
      type: 'function',
      function: { name: c.name, arguments: reply.rawArguments ?? JSON.stringify(fillInput(c.arguments, input)) },
    }));
    const body200 = {
      id: `chatcmpl-scripted-${completions}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: `scripted:${String(body.model)}`,
      system_fingerprint: 'baton-scripted-model',
      choices: [
        {
          index: 0,
          finish_reason: reply.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop'),
          message: {
            role: 'assistant',
            content,
            ...(reply.refusal ? { refusal: reply.refusal } : {}),
            ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
          },
        },
      ],
      ...(reply.noUsage
        ? {}
        : {
            usage: {
              prompt_tokens: reportedTokens,
              completion_tokens:
                reply.usage?.output ?? Math.ceil(((content ?? '').length + JSON.stringify(toolCalls).length) / 4),
              total_tokens: 0,
              ...(cachedTokens ? { prompt_tokens_details: { cached_tokens: cachedTokens } } : {}),
              ...(reply.usage?.reasoning === undefined
                ? {}
                : { completion_tokens_details: { reasoning_tokens: reply.usage.reasoning } }),
            },
          }),
    };
    const answer = (): void => {
      const drip = reply.drip && (dripsLeft.get(reply) ?? reply.drip.times) > 0 ? reply.drip : undefined;
      if (drip) dripsLeft.set(reply, (dripsLeft.get(reply) ?? drip.times) - 1);
      if (body.stream === true) streamReply(res, body200, drip, seen);
      else send(res, 200, body200);
    };
    if (hang) setTimeout(answer, hang);
    else answer();
  };

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (url.pathname.startsWith('/demo/')) {
          await handleDemoApi(req, res, url, ledger, readJson, options.refundDelayMs ?? 0);
          return;
        }
        if (req.method === 'POST' && /\/chat\/completions$/.test(url.pathname)) {
          complete(req, res, (await readJson(req)) as Record<string, unknown>);
          return;
        }
        if (req.method === 'GET' && url.pathname.endsWith('/models')) {
          send(res, 200, { object: 'list', data: [{ id: 'scripted', object: 'model', owned_by: 'baton' }] });
          return;
        }
        send(res, 404, {
          error: { message: `scripted model: no route ${req.method} ${url.pathname}`, type: 'not_found' },
        });
      } catch (err) {
        send(res, 400, {
          error: { message: `scripted model: bad request: ${(err as Error).message}`, type: 'invalid_request_error' },
        });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    demoURL: `http://127.0.0.1:${port}/demo`,
    requests,
    ledger,
    load,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
