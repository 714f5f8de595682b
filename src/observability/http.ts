/**
 * The worker's HTTP endpoint: `/metrics` (Prometheus text: the SDK runtime's metrics and Baton's, read from the
 * runtime's exporter on loopback), `/healthz` (liveness) and `/readyz` (readiness).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthReport, WorkerHealth } from './health.js';

/** The running endpoint. */
export interface ObservabilityServer {
  url: string;
  close(): Promise<void>;
}

/** A port-in-use or permission problem, said with the setting that fixes it. */
export class HttpListenError extends Error {
  override readonly name = 'HttpListenError';
}

function sendJson(res: ServerResponse, report: HealthReport): void {
  res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(report)}\n`);
}

/** Starts the endpoint on host:port; `runtimeMetricsUrl` is where the runtime's Prometheus exporter listens. */
export async function startObservabilityServer(opts: {
  host: string;
  port: number;
  health: WorkerHealth;
  runtimeMetricsUrl: string;
}): Promise<ObservabilityServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      sendJson(res, opts.health.liveness());
    } else if (path === '/readyz') {
      opts.health.readiness().then(
        (report) => sendJson(res, report),
        (err: unknown) => sendJson(res, { ok: false, status: String(err), worker: 'unknown' }),
      );
    } else if (path === '/metrics') {
      fetch(opts.runtimeMetricsUrl, { signal: AbortSignal.timeout(5_000) })
        .then(async (upstream) => {
          const body = await upstream.text();
          res.writeHead(upstream.status, {
            'content-type': upstream.headers.get('content-type') ?? 'text/plain; version=0.0.4',
          });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end(`metrics unavailable: ${(err as Error).message}\n`);
        });
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'EADDRINUSE'
          ? `port ${opts.port} is in use: set BATON_METRICS_PORT to a free port, or off`
          : `${err.message}: check BATON_METRICS_HOST and BATON_METRICS_PORT`;
      reject(new HttpListenError(`cannot serve metrics on ${opts.host}:${opts.port}: ${hint}`, { cause: err }));
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
