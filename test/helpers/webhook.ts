/**
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that checks each request the way a receiver in
 * production should (src/activities/webhook-signature.ts: key id, HMAC over timestamp + delivery id + body, a
 * timestamp window, no repeated delivery), answers 401 when a check fails, and keeps what it received.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApprovalNotification } from '../../src/activities/notify.js';
import {
  rememberDelivery,
  verifyDelivery,
  type ReceiverState,
  type Verdict,
} from '../../src/activities/webhook-signature.js';

export interface Delivery {
  event: string;
  delivery: string;
  body: ApprovalNotification;
  /** Every check passed (signature, key id, timestamp window, not a repeat). */
  verified: boolean;
  /** Why it was refused, when it was. */
  refused?: Extract<Verdict, { ok: false }>['reason'];
  /** The status the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  url: string;
  /** Every request, in arrival order (retries included). */
  received: Delivery[];
  /** Requests that were verified and answered 2xx: what the receiver accepted. */
  accepted(): Delivery[];
  /** Answer this status to every request from now on (undefined: 204). */
  answer(status: number | undefined): void;
  close(): Promise<void>;
}

/** Starts a receiver that verifies signatures with `key`. */
export async function startWebhookReceiver(key: string): Promise<WebhookReceiver> {
  const received: Delivery[] = [];
  const state: ReceiverState = { keys: [key], seen: new Map() };
  let forced: number | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const verdict = verifyDelivery(raw, req.headers, state);
      const verified = verdict.ok;
      const status = !verified ? 401 : (forced ?? 204);
      if (verdict.ok && status < 300) rememberDelivery(state, verdict.delivery);
      received.push({
        ...(verdict.ok ? {} : { refused: verdict.reason }),
        event: String(req.headers['x-baton-event']),
        delivery: String(req.headers['x-baton-delivery']),
        body: JSON.parse(raw.toString('utf8')) as ApprovalNotification,
        verified,
        status,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/baton`,
    received,
    accepted: () => received.filter((d) => d.verified && d.status < 300),
    answer(status) {
      forced = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
