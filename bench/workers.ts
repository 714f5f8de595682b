/** The driver's side of a benchmark worker process: start it, measure it, stop it. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuMsOf, memoryOf } from './proc.js';
import type { DriverMessage, WorkerMessage, WorkerSpec } from './worker-process.js';

const entry = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const tsEntry = fileURLToPath(new URL('./ts-entry.mjs', import.meta.url));

/** A running worker process. */
export class BenchWorker {
  private collected: (() => void) | undefined;
  private exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly spawnToReadyMs: number,
    readonly ready: Extract<WorkerMessage, { type: 'ready' }>,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'collected') {
        this.collected?.();
        this.collected = undefined;
      } else if (m.type === 'error') {
        process.stderr.write(`[bench] worker ${child.pid} failed: ${m.message}\n`);
      }
    });
  }

  /** Forks a worker process and resolves once it polls its task queue. */
  static async start(spec: WorkerSpec): Promise<BenchWorker> {
    const begin = performance.now();
    // Through ts-entry.mjs, not `--import tsx`: the worker threads run without tsx's source-map support, as in
    // `baton worker` (ts-entry.mjs says why that matters).
    const child = fork(tsEntry, [entry], {
      execArgv: [
        '--expose-gc',
        // BENCH_CPU_PROF=DIR: a V8 CPU profile of each worker process (and each of its threads) lands in DIR, sampled
        // every 250 µs (the default millisecond misses most of a 10 ms workflow task).
        ...(process.env.BENCH_CPU_PROF
          ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
          : []),
      ],
      env: { ...process.env, BENCH_WORKER: JSON.stringify(spec) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<Extract<WorkerMessage, { type: 'ready' }>>((resolve, reject) => {
      const onMessage = (m: WorkerMessage): void => {
        if (m.type === 'ready') resolve(m);
        if (m.type === 'error') reject(new Error(`bench worker did not start: ${m.message}`));
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`bench worker exited with code ${code} before it was ready`)));
    });
    return new BenchWorker(child, performance.now() - begin, ready);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resident memory (from /proc) now and at its peak, after a full GC of the worker's main thread. */
  async memory(): Promise<{ rss: number; peakRss: number }> {
    const done = new Promise<void>((resolve) => (this.collected = resolve));
    this.child.send({ type: 'collect' } satisfies DriverMessage);
    await done;
    return memoryOf(this.pid);
  }

  cpuMs(): number {
    return cpuMsOf(this.pid);
  }

  /** Shuts the worker down gracefully (it finishes its tasks) and waits for the process to end. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.connected) this.child.send({ type: 'stop' } satisfies DriverMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}
