/**
 * §6 The peer side by side: the same scripted three-step agent with one human interrupt (approval before step 2),
 * on Baton and on LangGraph JS with its SQLite checkpointer, one agent at a time, against the same scripted model.
 * The peer lives in bench/peer/ with its own package.json, installed on demand, never in Baton's dependencies.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decideUpdate } from '../../src/workflows/definitions.js';
import { BatonStatus } from '../../src/workflows/search-attributes.js';
import { benchAgent, type BenchAgent } from '../agent.js';
import type { WorkflowHandle } from '@temporalio/client';
import type { goalWorkflow } from '../../src/workflows/goal.js';
import type { ApprovalDecision } from '../../src/workflows/definitions.js';
import { expectDone, rawArgs, startAgent, startWorker, type BenchContext, type Flavor } from '../context.js';
import type { BenchWorker } from '../workers.js';
import { rawDecide, rawParked } from '../workflows/raw-agent.js';
import { parkedTime, resumeSpans, type ResumeSpans } from '../history.js';
import { ms, ratio, round, summarize, type Summary } from '../stats.js';
import { targetRow, type SectionResult } from '../report.js';
import { cpuMsOf } from '../proc.js';
import { wallClock } from '../tool-server.js';
import type { PeerResult, PeerSpec } from '../peer-protocol.js';

const peerDir = fileURLToPath(new URL('../peer/', import.meta.url));
/** Targets (issue 16): Baton's steps/s at least this share of the peer's, and its approve -> resume p50. */
const STEPS_PER_SECOND = 0.4;
const RESUME_P50 = 15;
const WARMUP = 2;
const STEPS = 3;

/** Installs the peer's packages when they are missing or older than its lockfile; the reason when that fails. */
function ensurePeer(ctx: BenchContext): string | undefined {
  const marker = join(peerDir, 'node_modules', '.package-lock.json');
  const lock = join(peerDir, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return undefined;
  ctx.log('peer: installing LangGraph JS into bench/peer/ (npm ci; better-sqlite3 may compile, about a minute)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(npm, ['ci', '--prefix', peerDir, '--no-audit', '--no-fund'], { encoding: 'utf8' });
  if (res.status === 0) return undefined;
  const errors = `${res.stderr ?? ''}${res.error?.message ?? ''}`
    .split('\n')
    .filter((l) => !l.startsWith('npm warn'))
    .map((l) => l.replace(/^npm error\s*/, '').trim())
    .filter(Boolean);
  return `npm ci --prefix bench/peer failed (exit ${res.status}): ${errors.slice(0, 4).join(' | ')}`;
}

/** Runs the peer process and parses its one line of JSON. */
function runPeer(spec: PeerSpec): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    // Like Baton's workers, without tsx's source-map support (bench/ts-entry.mjs).
    const entry = fileURLToPath(new URL('../ts-entry.mjs', import.meta.url));
    const child = spawn(process.execPath, [entry, join(peerDir, 'agent.ts')], {
      env: { ...process.env, BENCH_PEER: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as PeerResult);
      else reject(new Error(`the peer exited with code ${code}: ${err.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

/** What one side run on Temporal (Baton or the hand-written floor) gives. */
interface TemporalSide {
  busy: number[];
  resume: number[];
  spans: ResumeSpans[];
  /** CPU of the side's worker process and the dev server while its measured agents ran. */
  cpuMs: number;
}

/** Runs one agent on Temporal, as Baton or as the floor, and adds its figures to `side` (unless a warmup). */
async function runOne(
  ctx: BenchContext,
  flavor: Flavor,
  agent: BenchAgent,
  worker: { worker: BenchWorker; taskQueue: string },
  id: string,
  side: TemporalSide | undefined,
): Promise<void> {
  const cpu = () => worker.worker.cpuMs() + (ctx.serverPid === undefined ? Number.NaN : cpuMsOf(ctx.serverPid));
  const cpu0 = cpu();
  const started = wallClock();
  const { handle, firstRunId } = await startAgent(ctx, flavor, agent, worker.taskQueue, id);
  // Wait for the park: Baton's by describing (server only, the worker is not disturbed; its time comes from
  // history), the floor's by its query.
  for (;;) {
    if (flavor === 'baton') {
      const d = await handle.describe();
      if (d.typedSearchAttributes.get(BatonStatus) === 'awaiting_approval') break;
    } else if (await handle.query(rawParked)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  // Signed before the clock starts, as the gateway signs when the person clicks.
  const decision = flavor === 'baton' ? ctx.identity.approval(id, firstRunId, agent) : { decision: 'approve' };
  const sent = wallClock();
  const parkedAt = flavor === 'raw' ? sent : Number.NaN;
  if (flavor === 'baton')
    await (handle as WorkflowHandle<typeof goalWorkflow>).executeUpdate(decideUpdate, {
      args: [decision as ApprovalDecision],
    });
  else await handle.executeUpdate(rawDecide, { args: [decision] });
  const resumedAt = await ctx.tools.arrival(id);
  expectDone(agent, id, await handle.result());
  const done = wallClock();
  const cpuMs = cpu() - cpu0;
  if (!side) return;
  const history = await handle.fetchHistory();
  side.busy.push((flavor === 'baton' ? parkedTime(history) : parkedAt) - started + (done - sent));
  side.resume.push(resumedAt - sent);
  side.cpuMs += cpuMs;
  const split = resumeSpans(history, sent, resumedAt);
  if (split) side.spans.push(split);
}

/**
 * Baton and the hand-written floor, agent by agent, interleaved (ABBA) so that drift on a shared machine hits both
 * alike. The floor parks on a plain update handler and is approved by it: what approve -> resume costs on Temporal
 * without Baton's checks.
 */
async function temporalSides(ctx: BenchContext, agent: BenchAgent, agents: number) {
  const baton = await startWorker(ctx, 'baton');
  const raw = await startWorker(ctx, 'raw');
  const sides: Record<Flavor, TemporalSide> = {
    baton: { busy: [], resume: [], spans: [], cpuMs: 0 },
    raw: { busy: [], resume: [], spans: [], cpuMs: 0 },
  };
  try {
    for (let i = 0; i < WARMUP + agents; i++) {
      const order: Flavor[] = i % 2 === 0 ? ['baton', 'raw'] : ['raw', 'baton'];
      for (const flavor of order) {
        const worker = flavor === 'baton' ? baton : raw;
        await runOne(ctx, flavor, agent, worker, `peer-${flavor}-${i}`, i < WARMUP ? undefined : sides[flavor]);
      }
    }
  } finally {
    await Promise.all([baton.worker.stop(), raw.worker.stop()]);
  }
  return sides;
}

/** The median of each span of approve -> resume. */
function medianSpans(spans: ResumeSpans[]): Record<keyof ResumeSpans, number> {
  const keys = ['toTask', 'task', 'dispatch', 'activity', 'extraActivities'] as const;
  return Object.fromEntries(keys.map((k) => [k, round(summarize(spans.map((s) => s[k])).median)])) as Record<
    keyof ResumeSpans,
    number
  >;
}

export async function peer(ctx: BenchContext): Promise<SectionResult> {
  const { agents } = ctx.config.peer;
  const agent = benchAgent('bench-agent3', STEPS, 2);
  ctx.model.load(agent.script);
  const { baton, raw } = await temporalSides(ctx, agent, agents);
  const b = { busy: summarize(baton.busy), resume: summarize(baton.resume) };
  const floor = { busy: summarize(raw.busy), resume: summarize(raw.resume) };
  const spans = medianSpans(baton.spans);
  const floorSpans = medianSpans(raw.spans);
  const batonStepsPerSecond = (STEPS * baton.busy.length) / (baton.busy.reduce((n, x) => n + x, 0) / 1000);
  const batonCpuPerStep = baton.cpuMs / (STEPS * agents);

  let why = ctx.config.peer.skip ? 'skipped (BENCH_SKIP_PEER=1)' : ensurePeer(ctx);
  let peerResult: PeerResult | undefined;
  if (why === undefined) {
    const raw = rawArgs(agent);
    const settings = raw.settings;
    try {
      peerResult = await runPeer({
        modelBaseURL: ctx.model.baseURL,
        goal: raw.goal,
        agent: raw.agent,
        model: settings.model,
        temperature: settings.temperature ?? 0,
        messages: raw.messages.map((m) => ({ role: m.role as 'system' | 'user', content: String(m.content) })),
        tools: agent.tools,
        toolURL: ctx.tools.url,
        steps: agent.steps,
        agents,
        warmup: WARMUP,
        dbPath: ctx.config.db === 'file' ? join(ctx.scratch, 'peer-checkpoints.sqlite') : ':memory:',
      });
    } catch (err) {
      why = (err as Error).message;
    }
  }
  let p: { busy: Summary; resume: Summary } | undefined;
  let peerStepsPerSecond = Number.NaN;
  let peerCpuPerStep = Number.NaN;
  if (peerResult) {
    const resume = await Promise.all(
      peerResult.resumeSentAt.map(async (sent, i) => (await ctx.tools.arrival(`peer-agent-${i}`, 1000)) - sent),
    );
    p = { busy: summarize(peerResult.busyMs), resume: summarize(resume) };
    peerStepsPerSecond = (STEPS * peerResult.busyMs.length) / (peerResult.busyMs.reduce((n, x) => n + x, 0) / 1000);
    peerCpuPerStep = peerResult.cpuMs / (STEPS * agents);
  }
  const none = why ? 'n/a' : undefined;
  const stepsRatio = ratio(batonStepsPerSecond, peerStepsPerSecond);
  const storage = ctx.config.db === 'file' ? 'SQLite files (WAL), durable' : 'SQLite in memory';
  return {
    name: 'peer',
    title: `6. Side by side: three-step agent with one approval, ${agents} agents one at a time, both on ${storage}`,
    reference: 'LangGraph JS + SQLite',
    rows: [
      targetRow(
        'peer.stepsPerSecond',
        {
          metric: 'steps per second (human wait excluded)',
          baton: batonStepsPerSecond.toFixed(1),
          reference: none ?? peerStepsPerSecond.toFixed(1),
          ratio: stepsRatio,
        },
        stepsRatio,
        { min: STEPS_PER_SECOND },
      ),
      {
        metric: 'agent busy time, median',
        baton: ms(b.busy.median),
        reference: none ?? ms(p!.busy.median),
        ratio: p ? ratio(b.busy.median, p.busy.median) : Number.NaN,
      },
      targetRow(
        'peer.approveResumeP50',
        {
          metric: 'approve -> resume p50',
          baton: ms(b.resume.median),
          reference: none ?? ms(p!.resume.median),
          ratio: p ? ratio(b.resume.median, p.resume.median) : Number.NaN,
        },
        b.resume.median,
        { max: RESUME_P50 },
        ' ms (Baton)',
      ),
      {
        metric: 'approve -> resume p50: Baton | hand-written Temporal floor',
        baton: ms(b.resume.median),
        reference: ms(floor.resume.median),
        ratio: ratio(b.resume.median, floor.resume.median),
      },
      {
        metric: 'agent busy time, median: Baton | floor',
        baton: ms(b.busy.median),
        reference: ms(floor.busy.median),
        ratio: ratio(b.busy.median, floor.busy.median),
      },
      {
        metric: 'approve -> resume p99',
        baton: ms(b.resume.p99),
        reference: none ?? ms(p!.resume.p99),
        ratio: p ? ratio(b.resume.p99, p.resume.p99) : Number.NaN,
      },
      {
        metric: 'CPU per step',
        baton: ms(batonCpuPerStep),
        reference: none ?? ms(peerCpuPerStep),
        ratio: ratio(batonCpuPerStep, peerCpuPerStep),
      },
    ],
    notes: [
      ...(why ? [`peer not run: ${why}`] : []),
      `approve -> resume, medians, Baton | floor: decision sent -> workflow task started ${ms(spans.toTask)} | ${ms(floorSpans.toTask)}, the worker holds the task ${ms(spans.task)} | ${ms(floorSpans.task)}, tool activity scheduled -> started ${ms(spans.dispatch)} | ${ms(floorSpans.dispatch)}, started -> HTTP call ${ms(spans.activity)} | ${ms(floorSpans.activity)}; activities in between ${spans.extraActivities} | ${floorSpans.extraActivities}`,
      'the floor: the same agent on hand-written Temporal (bench/workflows/raw-agent.ts), parked on a plain `decide` update with no identity check, interleaved with Baton agent by agent',
      'busy = start -> parked for approval + approval sent -> done; Baton parks when BatonStatus turns awaiting_approval (history time)',
      'Baton runs the steps through a Temporal server (durable, distributed workers); the peer runs them in its own process',
      "CPU per step: Baton's worker process + the dev server; the peer's one process (the scripted model and tool server, in the driver, are left out of both)",
    ],
    data: {
      agents,
      db: ctx.config.db,
      stepsPerSecondRatio: stepsRatio,
      baton: {
        ...b,
        stepsPerSecond: round(batonStepsPerSecond),
        cpuMsPerStep: round(batonCpuPerStep),
        resumeSpans: spans,
      },
      floor: { ...floor, resumeSpans: floorSpans, cpuMsPerStep: round(raw.cpuMs / (STEPS * agents)) },
      peer: p
        ? {
            ...p,
            stepsPerSecond: round(peerStepsPerSecond),
            cpuMsPerStep: round(peerCpuPerStep),
            versions: peerResult?.versions,
          }
        : { skipped: why },
    },
    chart: {
      groups: [
        ['steps per second', batonStepsPerSecond, peerStepsPerSecond, (v: number) => v.toFixed(1)] as const,
        ['agent busy time, median', b.busy.median, p?.busy.median ?? Number.NaN, ms] as const,
        ['approve -> resume p50', b.resume.median, p?.resume.median ?? Number.NaN, ms] as const,
        ['CPU per step', batonCpuPerStep, peerCpuPerStep, ms] as const,
      ].map(([metric, baton, peerValue, text]) => ({
        metric,
        bars: [
          { label: 'Baton', value: baton, text: text(baton) },
          { label: 'LangGraph JS', value: peerValue, text: Number.isFinite(peerValue) ? text(peerValue) : 'n/a' },
        ],
      })),
    },
  };
}
