/**
 * The worker's health, from its own status: live unless the worker has failed; ready while it is running, its
 * pollers are polling and the Temporal frontend answers. A worker that is draining is live but not ready.
 */
import type { NativeConnection, Worker } from '@temporalio/worker';

/** What /healthz and /readyz report. */
export interface HealthReport {
  ok: boolean;
  status: string;
  worker: string;
  server?: string;
  inFlightActivities?: number;
  inFlightWorkflowTasks?: number;
}

/** How long a server check is trusted, so frequent probes do not each cost a round trip. */
const CHECK_TTL_MS = 5_000;
const CHECK_TIMEOUT_MS = 2_000;

/** Tracks the worker through start, run and shutdown. */
export class WorkerHealth {
  private worker?: Worker;
  private connection?: NativeConnection;
  private stopping = false;
  private lastCheck?: { at: number; error?: string };

  attach(worker: Worker, connection: NativeConnection): void {
    this.worker = worker;
    this.connection = connection;
  }

  /** Shutdown was requested: from now on the worker is not ready. */
  markStopping(): void {
    this.stopping = true;
  }

  private workerState(): string {
    return this.worker?.getState() ?? (this.stopping ? 'STOPPING' : 'STARTING');
  }

  liveness(): HealthReport {
    const worker = this.workerState();
    return { ok: worker !== 'FAILED', status: worker === 'FAILED' ? 'failed' : 'alive', worker };
  }

  private async serverCheck(): Promise<string | undefined> {
    const now = Date.now();
    if (this.lastCheck && now - this.lastCheck.at < CHECK_TTL_MS) return this.lastCheck.error;
    const connection = this.connection;
    let error: string | undefined;
    try {
      await connection?.withDeadline(now + CHECK_TIMEOUT_MS, () => connection.workflowService.getSystemInfo({}));
    } catch (err) {
      error = (err as Error).message.split('\n')[0] ?? 'unreachable';
    }
    this.lastCheck = { at: Date.now(), ...(error === undefined ? {} : { error }) };
    return error;
  }

  async readiness(): Promise<HealthReport> {
    const worker = this.workerState();
    const s = this.worker?.getStatus();
    const counts = s
      ? { inFlightActivities: s.numInFlightActivities, inFlightWorkflowTasks: s.numInFlightWorkflowActivations }
      : {};
    if (this.stopping) return { ok: false, status: 'draining', worker, ...counts };
    if (!s || worker === 'INITIALIZED') return { ok: false, status: 'starting', worker, ...counts };
    if (worker !== 'RUNNING') return { ok: false, status: worker.toLowerCase(), worker, ...counts };
    if (s.workflowPollerState !== 'POLLING' || s.activityPollerState !== 'POLLING') {
      return { ok: false, status: 'pollers not polling', worker, ...counts };
    }
    const error = await this.serverCheck();
    if (error !== undefined) return { ok: false, status: 'server unreachable', worker, server: error, ...counts };
    return { ok: true, status: 'ready', worker, server: 'ok', ...counts };
  }
}
