/**
 * The transcript a model call sends, assembled in the activity (issue 14). The workflow names the transcript the
 * previous call stored (`base`) and sends only the messages added since, and message texts too large for the history
 * travel by reference (`stored`); here the stored transcript is read, the new messages appended, the window applied
 * (the same rule as the workflow's, src/workflows/transcript.ts), the result stored for the next call, and every
 * stored text read back (checked against its hash) for the provider.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ConversationStore } from '../../codec/conversation-store.js';
import type { ChatMessage, ContextRef, StoredQuote } from '../../workflows/definitions.js';
import { contextWindow } from '../../workflows/transcript.js';
import type { ModelRequest } from './types.js';

/** Failure type of a request whose stored texts cannot be read here. */
export const ContextUnavailable = 'ContextUnavailable';

function needStore(store: ConversationStore | undefined, what: string): ConversationStore {
  if (store) return store;
  throw ApplicationFailure.create({
    type: ContextUnavailable,
    nonRetryable: false,
    message: `${what} is kept in the conversation store, and this worker has none: set BATON_PAYLOAD_STORE to the store the other workers use`,
  });
}

/** A stored text cut to `clip` characters, keeping its beginning and end. */
export function clipText(text: string, clip: number | undefined): string {
  if (clip === undefined || text.length <= clip) return text;
  const half = Math.floor(clip / 2);
  return `${text.slice(0, half)}\n[... ${text.length - clip} characters left out ...]\n${text.slice(-half)}`;
}

async function resolved(m: ChatMessage, store: ConversationStore | undefined): Promise<ChatMessage> {
  if (m.role === 'assistant' || !m.stored) return m;
  const quote: StoredQuote = m.stored;
  const text = await needStore(store, `message text ${quote.sha256}`).get<string>(quote.sha256);
  const content = (quote.prefix ?? '') + clipText(text, quote.clip);
  return m.role === 'tool' ? { role: 'tool', toolCallId: m.toolCallId, content } : { role: m.role, content };
}

/** The messages for the provider, and the stored transcript the next call may continue from. */
export async function assembleContext(
  req: ModelRequest,
  store: ConversationStore | undefined,
): Promise<{ messages: ChatMessage[]; context?: ContextRef }> {
  let lead = 0;
  while (req.messages[lead]?.role === 'system') lead += 1;
  const system = req.messages.slice(0, lead);
  let transcript = req.messages.slice(lead);
  if (req.base) {
    const base = await needStore(store, `the transcript ${req.base.sha256}`).getContext(req.base);
    transcript = [...base, ...transcript];
  }
  if (req.window !== undefined) transcript = contextWindow(transcript, req.window);
  const context = req.keepContext && store ? await store.putContext(transcript) : undefined;
  const messages = [...system, ...(await Promise.all(transcript.map((m) => resolved(m, store))))];
  return context ? { messages, context } : { messages };
}
