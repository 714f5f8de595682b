/**
 * Webhook signatures, for Baton (signing) and for receivers (verifying): HMAC-SHA256 over a version tag, the
 * delivery's timestamp, its delivery id and the exact body bytes, with a key id so keys can rotate. A receiver that
 * checks the timestamp window and remembers delivery ids rejects old and repeated deliveries; see docs/security.md.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Header names of a signed delivery. */
export const WebhookHeaders = {
  delivery: 'x-baton-delivery',
  timestamp: 'x-baton-timestamp',
  keyId: 'x-baton-key-id',
  signature: 'x-baton-signature',
  event: 'x-baton-event',
} as const;

/** The key id of a signing key: a short fingerprint both sides compute, so rotation needs no extra setting. */
export function webhookKeyId(key: string): string {
  return createHash('sha256').update(`baton-webhook-key:${key}`).digest('hex').slice(0, 16);
}

function mac(key: string, timestamp: string, delivery: string, body: string | Buffer): string {
  return createHmac('sha256', key).update(`v1:${timestamp}:${delivery}:`).update(body).digest('hex');
}

/** The headers that sign one delivery attempt at `now` (ms since the epoch). */
export function signDelivery(body: string, delivery: string, key: string, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  return {
    [WebhookHeaders.delivery]: delivery,
    [WebhookHeaders.timestamp]: timestamp,
    [WebhookHeaders.keyId]: webhookKeyId(key),
    [WebhookHeaders.signature]: `v1=${mac(key, timestamp, delivery, body)}`,
  };
}

/** Why a delivery was refused, or that it was accepted. */
export type Verdict =
  | { ok: true; delivery: string }
  | { ok: false; reason: 'unsigned' | 'unknown-key' | 'bad-signature' | 'stale' | 'repeated' };

/** What a receiver keeps between requests: its keys and the delivery ids it accepted (with when). */
export interface ReceiverState {
  /** Current and previous signing keys. */
  keys: string[];
  /** Delivery id → accepted-at (ms); entries older than the window may be dropped. */
  seen: Map<string, number>;
  /** How far a timestamp may be from now; default 5 minutes. */
  toleranceMs?: number;
}

/**
 * Verifies a delivery the way a receiver should: a known key id, a signature over timestamp + delivery id + body, a
 * timestamp within the window, and a delivery id not accepted before. Once the receiver has acted on it, it calls
 * rememberDelivery, so a replay of the same request is refused while a retry of one it failed is not.
 */
export function verifyDelivery(
  body: Buffer,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  state: ReceiverState,
  now = Date.now(),
): Verdict {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const delivery = one(WebhookHeaders.delivery);
  const timestamp = one(WebhookHeaders.timestamp);
  const kid = one(WebhookHeaders.keyId);
  const signature = one(WebhookHeaders.signature);
  if (!delivery || !timestamp || !kid || !signature || !/^\d+$/.test(timestamp))
    return { ok: false, reason: 'unsigned' };
  const key = state.keys.find((k) => webhookKeyId(k) === kid);
  if (key === undefined) return { ok: false, reason: 'unknown-key' };
  const expected = Buffer.from(`v1=${mac(key, timestamp, delivery, body)}`);
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad-signature' };
  const tolerance = state.toleranceMs ?? 5 * 60_000;
  if (Math.abs(now - Number(timestamp) * 1000) > tolerance) return { ok: false, reason: 'stale' };
  for (const [id, at] of state.seen) if (now - at > 2 * tolerance) state.seen.delete(id);
  if (state.seen.has(delivery)) return { ok: false, reason: 'repeated' };
  return { ok: true, delivery };
}

/** Records that the receiver acted on a delivery; a later request with the same id is then `repeated`. */
export function rememberDelivery(state: ReceiverState, delivery: string, now = Date.now()): void {
  state.seen.set(delivery, now);
}
