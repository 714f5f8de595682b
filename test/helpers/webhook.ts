/**
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that checks each request's HMAC-SHA256 signature
 * the way a receiver in production would, answers 401 when it does not match, and keeps what it received.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApprovalNotification } from '../../src/activities/notify.js';

export interface Delivery {
  event: string;
  delivery: string;
  body: ApprovalNotification;
  /** The signature matched the body under the receiver's key. */
  verified: boolean;
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

/** True when `header` is `sha256=<hex HMAC-SHA256 of body under key>`, compared in constant time. */
export function verifySignature(body: Buffer, header: string | undefined, key: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', key).update(body).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Starts a receiver that verifies signatures with `key`. */
export async function startWebhookReceiver(key: string): Promise<WebhookReceiver> {
  const received: Delivery[] = [];
  let forced: number | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const verified = verifySignature(raw, req.headers['x-baton-signature'] as string | undefined, key);
      const status = !verified ? 401 : (forced ?? 204);
      received.push({
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
