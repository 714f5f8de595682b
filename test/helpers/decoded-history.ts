/**
 * A workflow history as text a test can search: every payload (inputs, results, failures' encoded attributes, memo)
 * is run through the data converter's codecs and the payload converter, and written out as JSON in place. Searching
 * JSON.stringify(history) instead would miss plaintext, since payload data is base64 there.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';

function isPayload(value: unknown): value is Payload {
  if (!value || typeof value !== 'object') return false;
  const v = value as { metadata?: unknown; data?: unknown };
  return v.data instanceof Uint8Array && !!v.metadata && typeof v.metadata === 'object';
}

async function decodeOne(payload: Payload, codecs: readonly PayloadCodec[]): Promise<string> {
  let p = payload;
  for (const codec of [...codecs].reverse()) [p] = (await codec.decode([p])) as [Payload];
  try {
    return JSON.stringify(defaultPayloadConverter.fromPayload(p));
  } catch {
    return Buffer.from(p.data ?? []).toString('utf8');
  }
}

async function walk(value: unknown, codecs: readonly PayloadCodec[], out: string[]): Promise<void> {
  if (isPayload(value)) {
    out.push(await decodeOne(value, codecs));
    return;
  }
  if (value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (const v of value) await walk(v, codecs, out);
    return;
  }
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) await walk(v, codecs, out);
    return;
  }
  if (typeof value === 'string') out.push(value);
}

/** Every string of a history, payloads decoded with `codecs` (the project's data converter's codecs, if any). */
export async function decodedHistoryText(
  client: Client,
  workflowId: string,
  codecs: readonly PayloadCodec[] = [],
): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const out: string[] = [];
  await walk(history.events ?? [], codecs, out);
  return out.join('\n');
}
