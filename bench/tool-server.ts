/**
 * The HTTP endpoint behind `guarded_step`, in the driver: it notes when each call arrives, the side channel of the
 * approve→resume latency, on the same clock as the moment the decision was sent.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stepDone } from './tools.js';

/** Wall-clock milliseconds with sub-millisecond precision. */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/** The tool server, listening on 127.0.0.1. */
export interface ToolServer {
  /** Base URL (the worker reads it as ${env:BENCH_TOOL_URL}). */
  url: string;
  /** Resolves with the time the guarded call of `goalId` arrived (its idempotency key starts with the goal id). */
  arrival(goalId: string, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startToolServer(): Promise<ToolServer> {
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  const server = createServer((req, res) => {
    const at = wallClock();
    const goalId = String(req.headers['idempotency-key'] ?? '').split('/')[0] ?? '';
    arrivals.set(goalId, at);
    waiters.get(goalId)?.(at);
    waiters.delete(goalId);
    // The reply names the step (the body's `n`), as the builtin `step` does: the scripted model answers that text.
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      let n: unknown = '?';
      try {
        n = (JSON.parse(body) as { n?: unknown }).n;
      } catch {
        // Not JSON: the step stays unnamed and the script will not match, which the goal reports.
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(stepDone(n));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrival(goalId, timeoutMs = 120_000) {
      const seen = arrivals.get(goalId);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(goalId);
          reject(new Error(`goal ${goalId} did not resume within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(goalId, (at) => {
          clearTimeout(timer);
          resolve(at);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
