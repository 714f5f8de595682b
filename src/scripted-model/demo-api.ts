/**
 * A tiny demo back office behind the scripted model, so the example goals' HTTP tools make real requests offline:
 * a CRM with tickets and refunds, a knowledge base, security alerts and threat intel, and an infrastructure
 * planner. Its data is made up and says so in every response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the demo API changed, keyed by idempotency key: a retried call never acts twice. */
export interface DemoLedger {
  refunds: Map<string, { refundId: string; customerId: string; amount: number }>;
  plans: Map<string, { planId: string; component: string; environment: string; changes: string[] }>;
  applies: Map<string, { applyId: string; planIds: string[] }>;
  incidents: Map<string, { incidentId: string; alertId: string; severity: string; summary: string }>;
}

/** An empty ledger. */
export function newDemoLedger(): DemoLedger {
  return { refunds: new Map(), plans: new Map(), applies: new Map(), incidents: new Map() };
}

const CUSTOMERS: Record<string, { name: string; tier: string; lastOrder: { id: string; amount: number } }> = {
  'c-42': { name: 'Ada Lovelace', tier: 'gold', lastOrder: { id: 'o-9001', amount: 120 } },
  'c-7': { name: 'Alan Turing', tier: 'standard', lastOrder: { id: 'o-9002', amount: 35 } },
};

const TICKETS: Record<string, { customerId: string; subject: string; body: string }> = {
  'T-1001': {
    customerId: 'c-42',
    subject: 'Charged twice for my order',
    body: 'I was charged twice for order o-9001 (two charges of 80 USD). Please refund the duplicate charge.',
  },
  'T-1002': {
    customerId: 'c-7',
    subject: 'Cannot log in after password reset',
    body: 'Since I reset my password yesterday the site says "session expired" right after I log in.',
  },
};

const KB = [
  {
    id: 'kb-12',
    title: 'Session expired right after logging in',
    keywords: ['login', 'session', 'password'],
    fix: 'A password reset ends every old session; clear the site cookies, then log in again.',
  },
  { id: 'kb-31', title: 'Duplicate charges', keywords: ['charge', 'refund'], fix: 'Billing refunds the duplicate.' },
];

const ALERTS: Record<string, Record<string, unknown>> = {
  'A-7': {
    rule: 'Outbound connection to a rarely seen address',
    host: 'build-07',
    destination: '203.0.113.50:4444',
    process: 'python3 /tmp/.cache/update.py',
    firstSeen: '2026-03-02T03:14:00Z',
  },
};

const IPS: Record<string, Record<string, unknown>> = {
  '203.0.113.50': { reputation: 'unknown', reports: 0, network: 'hosting provider range', note: 'no public reports' },
};

const HOSTS: Record<string, Record<string, unknown>> = {
  'build-07': { owner: 'platform-team', role: 'CI build runner', recentChanges: ['new build image on 2026-03-01'] },
};

const INFRA_CHANGES: Record<string, string[]> = {
  network: ['+ vpc staging-net 10.40.0.0/16', '+ 3 private subnets', '+ nat gateway'],
  database: ['+ postgres staging-db (2 vCPU, 8 GiB)', '+ daily backups, 7 days'],
  cluster: ['+ kubernetes staging (3 nodes)', '+ ingress controller'],
};

function json(res: ServerResponse, status: number, body: Record<string, unknown>, delayMs = 0): void {
  const reply = (): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...body, demo: 'made-up data from the Baton demo API' }));
  };
  if (delayMs > 0) setTimeout(reply, delayMs);
  else reply();
}

function found(res: ServerResponse, kind: string, id: string, data: Record<string, unknown> | undefined): void {
  if (!data) return json(res, 404, { error: `no ${kind} ${id}` });
  return json(res, 200, { id, ...data });
}

type Body = Record<string, unknown>;

/** Serves GET lookups and idempotent POSTs under `/demo/`. */
export async function handleDemoApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ledger: DemoLedger,
  readJson: (req: IncomingMessage) => Promise<unknown>,
  /** Delay before answering a refund, after it is recorded: a caller that dies meanwhile never hears of it. */
  refundDelayMs = 0,
): Promise<void> {
  const path = url.pathname.replace(/^\/demo/, '');
  const get = (pattern: RegExp): string | undefined => {
    const m = req.method === 'GET' ? pattern.exec(path) : null;
    return m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
  };
  let id: string | undefined;
  if ((id = get(/^\/customers\/([^/]+)$/)) !== undefined) return found(res, 'customer', id, CUSTOMERS[id]);
  if ((id = get(/^\/tickets\/([^/]+)$/)) !== undefined) return found(res, 'ticket', id, TICKETS[id]);
  if ((id = get(/^\/alerts\/([^/]+)$/)) !== undefined) return found(res, 'alert', id, ALERTS[id]);
  if ((id = get(/^\/intel\/ips\/([^/]+)$/)) !== undefined)
    return found(res, 'ip', id, IPS[id] ?? { reputation: 'unknown', reports: 0 });
  if ((id = get(/^\/hosts\/([^/]+)$/)) !== undefined) return found(res, 'host', id, HOSTS[id]);
  if (req.method === 'GET' && path === '/kb') {
    const q = (url.searchParams.get('q') ?? '').toLowerCase();
    const articles = KB.filter((a) => a.keywords.some((k) => q.includes(k)));
    return json(res, 200, { query: q, articles });
  }
  if (req.method !== 'POST') return json(res, 404, { error: `demo API has no ${req.method} ${url.pathname}` });

  const key = String(req.headers['idempotency-key'] ?? '');
  if (!key) return json(res, 400, { error: 'Idempotency-Key header required' });
  const body = (await readJson(req)) as Body;
  const replay = <T extends object>(map: Map<string, T>): boolean => {
    const existing = map.get(key);
    if (existing) json(res, 200, { ...existing, replayed: true });
    return existing !== undefined;
  };
  switch (path) {
    case '/refunds': {
      if (typeof body.amount !== 'number' || typeof body.customerId !== 'string')
        return json(res, 400, { error: 'customerId and amount required' });
      if (!CUSTOMERS[body.customerId])
        return json(res, 404, { error: `no customer ${body.customerId}: refunds go only to known customers` });
      if (replay(ledger.refunds)) return;
      const refund = { refundId: `r-${ledger.refunds.size + 1}`, customerId: body.customerId, amount: body.amount };
      ledger.refunds.set(key, refund);
      return json(res, 201, refund, refundDelayMs);
    }
    case '/infra/plans': {
      const component = typeof body.component === 'string' ? body.component : '';
      const changes = INFRA_CHANGES[component];
      if (!changes)
        return json(res, 400, { error: `component must be one of ${Object.keys(INFRA_CHANGES).join(', ')}` });
      if (replay(ledger.plans)) return;
      const environment = typeof body.environment === 'string' ? body.environment : 'staging';
      const plan = { planId: `plan-${environment}-${component}`, component, environment, changes };
      ledger.plans.set(key, plan);
      return json(res, 201, plan);
    }
    case '/infra/apply': {
      const planIds = Array.isArray(body.planIds) ? body.planIds.map(String) : [];
      const known = new Set([...ledger.plans.values()].map((p) => p.planId));
      const unknown = planIds.filter((p) => !known.has(p));
      if (planIds.length === 0 || unknown.length) {
        return json(res, 400, {
          error: `planIds must name plans made before; unknown: ${unknown.join(', ') || '(none given)'}`,
        });
      }
      if (replay(ledger.applies)) return;
      const apply = { applyId: `a-${ledger.applies.size + 1}`, planIds };
      ledger.applies.set(key, apply);
      return json(res, 201, { ...apply, status: 'applied' });
    }
    case '/incidents': {
      if (typeof body.alertId !== 'string' || typeof body.summary !== 'string')
        return json(res, 400, { error: 'alertId and summary required' });
      if (replay(ledger.incidents)) return;
      const incident = {
        incidentId: `INC-${ledger.incidents.size + 1}`,
        alertId: body.alertId,
        severity: typeof body.severity === 'string' ? body.severity : 'medium',
        summary: body.summary,
      };
      ledger.incidents.set(key, incident);
      return json(res, 201, incident);
    }
    default:
      return json(res, 404, { error: `demo API has no ${req.method} ${url.pathname}` });
  }
}
