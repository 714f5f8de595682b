/**
 * The OpenAI-compatible chat-completions provider: one {@link ModelClient} over the openai SDK. It streams by
 * default, reporting tokens as they arrive; a timeout or a cancellation aborts the HTTP request, which closes the
 * stream so the server stops generating. SDK errors become {@link ProviderError}s; what retries is decided in
 * errors.ts, not here.
 */
import OpenAI from 'openai';
import { chatRequest } from './openai-request.js';
import {
  ProviderError,
  type CallControl,
  type ModelClient,
  type ModelRequest,
  type RawReply,
  type RawToolCall,
  type RawUsage,
} from './types.js';

const PREVIEW_CHARS = 400;

/** A stream that ended before its first chunk: how llama-cpp-python answers a streamed request with tools. */
class EmptyStream extends ProviderError {
  constructor() {
    super({ kind: 'malformed', message: 'the stream ended without a single chunk' });
  }
}

/** Maps an SDK error to what happened; `why` tells a timeout from a cancellation when the request was aborted. */
function providerError(err: unknown, why: () => 'timeout' | 'cancelled' | undefined, timeoutMs: number): unknown {
  const aborted = why();
  if (err instanceof ProviderError && !aborted) return err;
  if (aborted === 'timeout' || err instanceof OpenAI.APIConnectionTimeoutError) {
    return new ProviderError({ kind: 'timeout', afterMs: timeoutMs });
  }
  if (aborted === 'cancelled') return new ProviderError({ kind: 'cancelled' });
  if (err instanceof OpenAI.APIConnectionError) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return new ProviderError({ kind: 'connection', message: `${err.message}${cause}` });
  }
  if (err instanceof OpenAI.APIError) {
    if (typeof err.status === 'number') {
      return new ProviderError({
        kind: 'http',
        status: err.status,
        body: err.error ?? err.message,
        headers: err.headers as Headers | undefined,
      });
    }
    // An error event inside the stream: no status, the server's own words.
    return new ProviderError({ kind: 'stream', message: err.message, body: err.error });
  }
  return err;
}

function usageOf(u: OpenAI.CompletionUsage | null | undefined): RawUsage | undefined {
  if (!u) return undefined;
  return {
    ...(typeof u.prompt_tokens === 'number' ? { inputTokens: u.prompt_tokens } : {}),
    ...(typeof u.completion_tokens === 'number' ? { outputTokens: u.completion_tokens } : {}),
    ...(typeof u.prompt_tokens_details?.cached_tokens === 'number'
      ? { cachedInputTokens: u.prompt_tokens_details.cached_tokens }
      : {}),
    ...(typeof u.completion_tokens_details?.reasoning_tokens === 'number'
      ? { reasoningTokens: u.completion_tokens_details.reasoning_tokens }
      : {}),
  };
}

async function completeOnce(openai: OpenAI, req: ModelRequest, options: OpenAI.RequestOptions): Promise<RawReply> {
  const completion = (await openai.chat.completions.create(
    chatRequest(req, false),
    options,
  )) as OpenAI.Chat.ChatCompletion;
  const choice = completion.choices?.[0];
  if (!choice?.message) throw new ProviderError({ kind: 'malformed', message: 'the reply has no choices' });
  const toolCalls: RawToolCall[] = [];
  for (const call of choice.message.tool_calls ?? []) {
    if (call.type === 'function') {
      toolCalls.push({
        ...(call.id ? { id: call.id } : {}),
        name: call.function.name,
        arguments: call.function.arguments,
      });
    }
  }
  const usage = usageOf(completion.usage);
  return {
    content: choice.message.content ?? '',
    ...(choice.message.refusal ? { refusal: choice.message.refusal } : {}),
    toolCalls,
    finishReason: choice.finish_reason ?? undefined,
    ...(usage ? { usage } : {}),
    ...(completion.model ? { model: completion.model } : {}),
  };
}

async function completeStreaming(
  openai: OpenAI,
  req: ModelRequest,
  options: OpenAI.RequestOptions,
  control: CallControl,
): Promise<RawReply> {
  const stream = (await openai.chat.completions.create(
    chatRequest(req, true),
    options,
  )) as AsyncIterable<OpenAI.Chat.ChatCompletionChunk>;
  let content = '';
  let refusal = '';
  let finishReason: string | undefined;
  let usage: RawUsage | undefined;
  let model: string | undefined;
  let tokens = 0;
  let sawChoice = false;
  const calls = new Map<number, { id?: string; name: string; arguments: string }>();
  for await (const chunk of stream) {
    model ??= chunk.model || undefined;
    if (chunk.usage) usage = usageOf(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    sawChoice = true;
    const delta = choice.delta ?? {};
    if (delta.content) content += delta.content;
    if (delta.refusal) refusal += delta.refusal;
    for (const [position, part] of (delta.tool_calls ?? []).entries()) {
      const index = typeof part.index === 'number' ? part.index : position;
      const call = calls.get(index) ?? { name: '', arguments: '' };
      if (part.id) call.id = part.id;
      if (part.function?.name) call.name += part.function.name;
      if (part.function?.arguments) call.arguments += part.function.arguments;
      calls.set(index, call);
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
    if (delta.content || delta.refusal || delta.tool_calls?.length) {
      tokens += 1;
      control.onProgress({ tokens, preview: content.slice(-PREVIEW_CHARS) });
    }
  }
  if (!sawChoice) throw new EmptyStream();
  if (finishReason === undefined) {
    throw new ProviderError({
      kind: 'stream',
      message: 'the stream ended before the reply finished (no finish_reason)',
    });
  }
  const toolCalls = [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, c]): RawToolCall => ({ ...(c.id ? { id: c.id } : {}), name: c.name, arguments: c.arguments }));
  return {
    content,
    ...(refusal ? { refusal } : {}),
    toolCalls,
    finishReason,
    ...(usage ? { usage } : {}),
    ...(model ? { model } : {}),
  };
}

/** True for a server's error that says it cannot stream this request (answered before any chunk). */
function refusesToStream(err: unknown): boolean {
  if (!(err instanceof OpenAI.APIError) || typeof err.status !== 'number' || err.status < 400) return false;
  const body = err.error as { message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message : err.message;
  return /stream/i.test(text) && /not supported|unsupported|cannot|can't/i.test(text);
}

/** A model client for one OpenAI-compatible endpoint (the SDK's own retries off: Temporal retries). */
export function openAiChatClient(openai: OpenAI): ModelClient {
  // Some servers cannot stream a reply that may call tools: llama-cpp-python answers an empty event stream (its
  // "Automatic streaming tool choice is not supported" goes to its log), others an error saying so. Learned once per
  // model; then such requests go unstreamed.
  const cannotStreamTools = new Set<string>();
  return {
    endpoint: openai.baseURL,
    async complete(req, control) {
      // Our own timer owns the timeout, so it covers the whole stream and names itself; the SDK's is a backstop.
      const abort = new AbortController();
      let why: 'timeout' | 'cancelled' | undefined;
      const timer = setTimeout(() => {
        why = 'timeout';
        abort.abort();
      }, control.timeoutMs);
      const onCancel = (): void => {
        why ??= 'cancelled';
        abort.abort();
      };
      if (control.signal.aborted) onCancel();
      control.signal.addEventListener('abort', onCancel);
      const options: OpenAI.RequestOptions = {
        signal: abort.signal,
        timeout: control.timeoutMs + 10_000,
        maxRetries: 0,
        headers: { 'x-baton-goal': req.goal, 'x-baton-agent': req.agent },
      };
      const stream =
        req.settings.stream !== false && (req.tools.length === 0 || !cannotStreamTools.has(req.settings.model));
      try {
        let reply: RawReply;
        if (!stream) {
          reply = await completeOnce(openai, req, options);
        } else {
          try {
            reply = await completeStreaming(openai, req, options, control);
          } catch (err) {
            if (!(req.tools.length > 0 && (err instanceof EmptyStream || refusesToStream(err)))) throw err;
            cannotStreamTools.add(req.settings.model);
            reply = await completeOnce(openai, req, options);
          }
        }
        // The SDK ends an aborted stream quietly, as if it were complete: a cut reply must not pass for a whole one.
        if (why)
          throw new ProviderError(
            why === 'timeout' ? { kind: 'timeout', afterMs: control.timeoutMs } : { kind: 'cancelled' },
          );
        return reply;
      } catch (err) {
        throw providerError(err, () => why, control.timeoutMs);
      } finally {
        clearTimeout(timer);
        control.signal.removeEventListener('abort', onCancel);
        // Closes a stream left open by an error, so the server stops generating.
        abort.abort();
      }
    },
  };
}
