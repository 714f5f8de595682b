/** The benchmark's scale knobs, read from the environment once, with defaults for the full run and for BENCH_QUICK=1. */

/** The sections of `npm run bench`, in the order they run. */
export const SECTIONS = ['cold-start', 'overhead', 'throughput', 'peer', 'history', 'parked'] as const;
export type SectionName = (typeof SECTIONS)[number];

export interface BenchConfig {
  quick: boolean;
  sections: SectionName[];
  /** Where the dev server and the peer keep their SQLite data: a file (default; durable, as `baton dev`) or memory. */
  db: 'file' | 'memory';
  /** Start the dev server without Baton's flags (queue read limits, WAL): the server's own defaults. */
  serverDefaults: boolean;
  /** Dynamic config values added to (or overriding) Baton's, from BENCH_DYNAMIC_CONFIG=`key=value,key=value`. */
  dynamicConfig: Record<string, number | string | boolean>;
  overhead: { goals: number; steps: number; warmup: number };
  history: { steps: number[] };
  parked: { counts: number[]; cache: number; approvals: number };
  throughput: { goals: number; warmup: number };
  coldStart: { reps: number };
  peer: { agents: number; skip: boolean };
  /** Where the run writes its figures (BENCH_RESULTS) and its charts (BENCH_CHARTS); relative to the project. */
  out: { results: string; charts: string };
}

/** A knob with a value the benchmark cannot use. */
export class BenchConfigError extends Error {
  override readonly name = 'BenchConfigError';
}

function count(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new BenchConfigError(
      `${name}=${raw} is not a positive whole number; unset it or set e.g. ${name}=${fallback}`,
    );
  }
  return value;
}

function counts(env: NodeJS.ProcessEnv, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const values = raw.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new BenchConfigError(
      `${name}=${raw} is not a comma-separated list of positive whole numbers; e.g. ${name}=${fallback.join(',')}`,
    );
  }
  return values;
}

function dynamicConfig(raw: string | undefined): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const pair of (raw ?? '').split(',').filter((p) => p.trim())) {
    const eq = pair.indexOf('=');
    if (eq < 1) {
      throw new BenchConfigError(
        `BENCH_DYNAMIC_CONFIG: "${pair}" is not key=value; e.g. BENCH_DYNAMIC_CONFIG=history.transferProcessorMaxPollRPS=200`,
      );
    }
    const value = pair.slice(eq + 1).trim();
    out[pair.slice(0, eq).trim()] =
      value === 'true' || value === 'false' ? value === 'true' : Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}

/** Reads the knobs; every one is documented in docs/performance.md. */
export function loadBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  let sections: SectionName[] = [...SECTIONS];
  if (env.BENCH_ONLY) {
    const wanted = env.BENCH_ONLY.split(',').map((s) => s.trim());
    const unknown = wanted.filter((s) => !(SECTIONS as readonly string[]).includes(s));
    if (unknown.length) {
      throw new BenchConfigError(
        `BENCH_ONLY names unknown section(s) ${unknown.join(', ')}; use ${SECTIONS.join(', ')}`,
      );
    }
    sections = SECTIONS.filter((s) => wanted.includes(s));
  }
  const db = env.BENCH_DB || 'file';
  if (db !== 'file' && db !== 'memory') throw new BenchConfigError(`BENCH_DB=${db}: use file or memory`);
  return {
    quick,
    sections,
    db,
    serverDefaults: env.BENCH_SERVER_DEFAULTS === '1',
    dynamicConfig: dynamicConfig(env.BENCH_DYNAMIC_CONFIG),
    overhead: {
      goals: count(env, 'BENCH_OVERHEAD_GOALS', quick ? 4 : 30),
      steps: count(env, 'BENCH_OVERHEAD_STEPS', 10),
      warmup: quick ? 1 : 3,
    },
    history: { steps: counts(env, 'BENCH_HISTORY_STEPS', quick ? [10, 100] : [10, 100, 1000]) },
    parked: {
      counts: counts(env, 'BENCH_PARKED', quick ? [100, 300] : [1000, 5000]),
      cache: count(env, 'BENCH_CACHE', quick ? 50 : 200),
      approvals: count(env, 'BENCH_APPROVALS', quick ? 20 : 200),
    },
    throughput: { goals: count(env, 'BENCH_THROUGHPUT_GOALS', quick ? 40 : 300), warmup: quick ? 5 : 20 },
    coldStart: { reps: count(env, 'BENCH_COLD_REPS', quick ? 1 : 3) },
    peer: { agents: count(env, 'BENCH_PEER_AGENTS', quick ? 5 : 40), skip: env.BENCH_SKIP_PEER === '1' },
    out: { results: env.BENCH_RESULTS || 'bench/results.json', charts: env.BENCH_CHARTS || 'docs/bench' },
  };
}
