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
import { benchAgent, BENCH_APPROVER, type BenchAgent } from '../agent.js';
import { expectDone, rawArgs, startAgent, startWorker, type BenchContext } from '../context.js';
import { parkedTime } from '../history.js';
import { ms, ratio, round, summarize, type Summary } from '../stats.js';
import type { SectionResult } from '../report.js';
import { wallClock } from '../tool-server.js';
import type { PeerResult, PeerSpec } from '../peer-protocol.js';

const peerDir = fileURLToPath(new URL('../peer/', import.meta.url));
const RESUME_P50 = 50;
const WARMUP = 2;

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
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(peerDir, 'agent.ts')], {
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

async function batonSide(ctx: BenchContext, agent: BenchAgent, agents: number) {
  const { worker, taskQueue } = await startWorker(ctx, 'baton');
  const busy: number[] = [];
  const resume: number[] = [];
  try {
    for (let i = 0; i < WARMUP + agents; i++) {
      const id = `peer-baton-${i}`;
      const started = wallClock();
      const { handle } = await startAgent(ctx, 'baton', agent, taskQueue, id);
      // Wait for the park by describing (server only, the worker is not disturbed); its time comes from history.
      for (;;) {
        const d = await handle.describe();
        if (d.typedSearchAttributes.get(BatonStatus) === 'awaiting_approval') break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const sent = wallClock();
      await handle.executeUpdate(decideUpdate, {
        args: [{ approvalId: 'apr-1', decision: 'approve', by: BENCH_APPROVER }],
      });
      const resumedAt = await ctx.tools.arrival(id);
      expectDone(agent, id, await handle.result());
      const done = wallClock();
      if (i < WARMUP) continue;
      const parkedAt = parkedTime(await handle.fetchHistory());
      busy.push(parkedAt - started + (done - sent));
      resume.push(resumedAt - sent);
    }
  } finally {
    await worker.stop();
  }
  return { busy, resume };
}

export async function peer(ctx: BenchContext): Promise<SectionResult> {
  const { agents } = ctx.config.peer;
  const agent = benchAgent('bench-agent3', 3, 2);
  ctx.model.load(agent.script);
  const baton = await batonSide(ctx, agent, agents);
  const b = { busy: summarize(baton.busy), resume: summarize(baton.resume) };
  const batonStepsPerSecond = (3 * baton.busy.length) / (baton.busy.reduce((n, x) => n + x, 0) / 1000);

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
  if (peerResult) {
    const resume = await Promise.all(
      peerResult.resumeSentAt.map(async (sent, i) => (await ctx.tools.arrival(`peer-agent-${i}`, 1000)) - sent),
    );
    p = { busy: summarize(peerResult.busyMs), resume: summarize(resume) };
    peerStepsPerSecond = (3 * peerResult.busyMs.length) / (peerResult.busyMs.reduce((n, x) => n + x, 0) / 1000);
  }
  const none = why ? 'n/a' : undefined;
  return {
    name: 'peer',
    title: `6. Side by side: three-step agent with one approval, ${agents} agents one at a time`,
    reference: 'LangGraph JS + SQLite',
    rows: [
      {
        metric: 'steps per second (human wait excluded)',
        baton: batonStepsPerSecond.toFixed(1),
        reference: none ?? peerStepsPerSecond.toFixed(1),
        ratio: ratio(batonStepsPerSecond, peerStepsPerSecond),
      },
      {
        metric: 'agent busy time, median',
        baton: ms(b.busy.median),
        reference: none ?? ms(p!.busy.median),
        ratio: p ? ratio(b.busy.median, p.busy.median) : Number.NaN,
      },
      {
        metric: 'approve -> resume p50',
        baton: ms(b.resume.median),
        reference: none ?? ms(p!.resume.median),
        ratio: p ? ratio(b.resume.median, p.resume.median) : Number.NaN,
        target: `Baton < ${RESUME_P50} ms`,
        met: b.resume.median < RESUME_P50,
      },
      {
        metric: 'approve -> resume p99',
        baton: ms(b.resume.p99),
        reference: none ?? ms(p!.resume.p99),
        ratio: p ? ratio(b.resume.p99, p.resume.p99) : Number.NaN,
      },
    ],
    notes: [
      ...(why ? [`peer not run: ${why}`] : []),
      'busy = start -> parked for approval + approval sent -> done; Baton parks when BatonStatus turns awaiting_approval (history time)',
      'Baton runs the steps through a Temporal server (durable, distributed workers); the peer runs them in its own process',
    ],
    data: {
      agents,
      baton: { ...b, stepsPerSecond: round(batonStepsPerSecond) },
      peer: p ? { ...p, stepsPerSecond: round(peerStepsPerSecond), versions: peerResult?.versions } : { skipped: why },
    },
  };
}
