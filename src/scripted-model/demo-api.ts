/**
 * A tiny demo CRM behind the scripted model, so the example goals' HTTP tools make real requests offline.
 * Its data is made up and says so in every response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Refunds issued through the demo API, keyed by idempotency key: a retried call never refunds twice. */
export interface DemoLedger {
  refunds: Map<string, { refundId: string; customerId: string; amount: number }>;
}

const CUSTOMERS: Record<string, { name: string; tier: string; lastOrder: { id: string; amount: number } }> = {
  'c-42': { name: 'Ada Lovelace', tier: 'gold', lastOrder: { id: 'o-9001', amount: 120 } },
  'c-7': { name: 'Alan Turing', tier: 'standard', lastOrder: { id: 'o-9002', amount: 35 } },
};

function json(res: ServerResponse, status: number, body: Record<string, unknown>, delayMs = 0): void {
  const reply = (): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...body, demo: 'made-up data from the Baton demo API' }));
  };
  if (delayMs > 0) setTimeout(reply, delayMs);
  else reply();
}

/** Serves `GET /demo/customers/:id` and `POST /demo/refunds`. */
export async function handleDemoApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ledger: DemoLedger,
  readJson: (req: IncomingMessage) => Promise<unknown>,
  /** Delay before answering a refund, after it is recorded: a caller that dies meanwhile never hears of it. */
  refundDelayMs = 0,
): Promise<void> {
  const customer = /^\/demo\/customers\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'GET' && customer?.[1]) {
    const id = decodeURIComponent(customer[1]);
    const found = CUSTOMERS[id];
    if (!found) return json(res, 404, { error: `no customer ${id}` });
    return json(res, 200, { id, ...found });
  }
  if (req.method === 'POST' && url.pathname === '/demo/refunds') {
    const body = (await readJson(req)) as { customerId?: string; amount?: number };
    const key = String(req.headers['idempotency-key'] ?? '');
    if (!key) return json(res, 400, { error: 'Idempotency-Key header required' });
    if (typeof body.amount !== 'number' || !body.customerId)
      return json(res, 400, { error: 'customerId and amount required' });
    const existing = ledger.refunds.get(key);
    if (existing) return json(res, 200, { ...existing, replayed: true });
    const refund = { refundId: `r-${ledger.refunds.size + 1}`, customerId: body.customerId, amount: body.amount };
    ledger.refunds.set(key, refund);
    return json(res, 201, refund, refundDelayMs);
  }
  return json(res, 404, { error: `demo API has no ${req.method} ${url.pathname}` });
}
