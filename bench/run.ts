/**
 * `npm run bench`: starts a Temporal dev server on loopback and the scripted model (it replies at once, so what is
 * measured is orchestration), runs each section, prints one table per section and writes bench/results.json.
 * Method and knobs: docs/performance.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { findTemporalBinary } from '../src/runtime/temporal-binaries.js';
import { startScriptedModel } from '../src/scripted-model/server.js';
import { BenchConfigError, loadBenchConfig, type SectionName } from './config.js';
import type { BenchContext } from './context.js';
import { BenchIdentity } from './identity.js';
import { childPid } from './proc.js';
import { renderChart } from './chart.js';
import { formatSection, targetsOf, type SectionResult } from './report.js';
import { startBenchServer } from './server.js';
import { startToolServer } from './tool-server.js';
import { coldStart } from './sections/cold-start.js';
import { historyCost } from './sections/history-cost.js';
import { overhead } from './sections/overhead.js';
import { parked } from './sections/parked.js';
import { peer } from './sections/peer.js';
import { throughput } from './sections/throughput.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const sections: Record<SectionName, (ctx: BenchContext) => Promise<SectionResult>> = {
  'cold-start': coldStart,
  overhead,
  throughput,
  peer,
  history: historyCost,
  parked,
};

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function versions(): Record<string, string> {
  const pkg = (name: string): string =>
    (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  const cli = findTemporalBinary('cli');
  return {
    node: process.version,
    temporal: cli ? execFileSync(cli.path, ['--version'], { encoding: 'utf8' }).trim() : 'not found',
    '@temporalio/worker': pkg('@temporalio/worker'),
    openai: pkg('openai'),
  };
}

async function main(): Promise<void> {
  const config = loadBenchConfig();
  // BENCH_BATON_BUNDLE: another build of Baton's workflow bundle, to compare two versions on the same machine.
  const batonBundle = process.env.BENCH_BATON_BUNDLE || join(root, 'dist', 'workflow-bundle.js');
  if (!existsSync(batonBundle) || !existsSync(join(root, 'dist', 'worker.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm run bench does it first)');
  }
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const startedAt = new Date();
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
  const meta = { startedAt: startedAt.toISOString(), quick: config.quick, machine, versions: versions(), config };
  log(`${config.quick ? 'QUICK run (small counts)' : 'full run'}: ${config.sections.join(', ')}`);
  process.stdout.write(
    `Baton benchmark: ${machine.cpus} cores (${machine.cpu}), ${machine.memoryGiB} GiB, load ${machine.loadAverageAtStart.join(' ')}; ` +
      `Node ${meta.versions.node}, ${meta.versions.temporal}, @temporalio ${meta.versions['@temporalio/worker']}, openai ${meta.versions.openai}\n`,
  );

  const scratch = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(root, 'bench', 'workflows', 'raw-agent.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const rawBundle = join(scratch, 'raw-agent-bundle.js');
  writeFileSync(rawBundle, code);

  const env = await startBenchServer(config.db === 'file' ? join(scratch, 'temporal.db') : undefined, {
    serverDefaults: config.serverDefaults,
    dynamicConfig: config.dynamicConfig,
  });
  const model = await startScriptedModel({ quiet: true });
  const tools = await startToolServer();
  const ctx: BenchContext = {
    config,
    client: env.client,
    address: env.address,
    namespace: env.namespace ?? 'default',
    model,
    batonBundle,
    rawBundle,
    tools,
    identity: new BenchIdentity(scratch),
    scratch,
    serverPid: childPid('temporal'),
    log,
  };
  log(
    `dev server on ${env.address} (${config.db === 'file' ? 'SQLite file' : 'in memory'}, ${config.serverDefaults ? "the server's default flags" : "baton dev's flags"}), model ${model.baseURL}`,
  );

  // Ctrl-C: stop the server and let the worker processes see their driver go (they shut down on disconnect).
  const interrupt = (): void => {
    log('interrupted: stopping the dev server');
    void env.teardown().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const results: SectionResult[] = [];
  const failures: { section: string; error: string }[] = [];
  try {
    for (const name of config.sections) {
      const begin = performance.now();
      log(`section ${name}...`);
      try {
        const result = await sections[name](ctx);
        result.data.seconds = Math.round((performance.now() - begin) / 100) / 10;
        results.push(result);
        process.stdout.write(`${formatSection(result)}\n`);
      } catch (err) {
        const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
        failures.push({ section: name, error });
        process.stdout.write(`\n${name}: FAILED: ${error.split('\n')[0]}\n`);
        log(error);
      }
    }
  } finally {
    await model.close();
    await tools.close();
    await env.teardown();
    rmSync(scratch, { recursive: true, force: true });
  }

  const seconds = Math.round((Date.now() - startedAt.getTime()) / 1000);
  const loadAtEnd = loadavg().map((l) => Number(l.toFixed(2)));
  const targets = targetsOf(results);
  targets['bench.everySectionRan'] = {
    value: results.length / config.sections.length,
    target: '>= 1',
    met: failures.length === 0,
  };
  const out = resolve(root, config.out.results);
  writeFileSync(
    out,
    `${JSON.stringify({ ...meta, seconds, loadAverageAtEnd: loadAtEnd, targets, sections: results, failures }, null, 2)}\n`,
  );
  const charts = resolve(root, config.out.charts);
  mkdirSync(charts, { recursive: true });
  for (const r of results) {
    if (!r.chart) continue;
    const title = `${r.title}${config.quick ? ' (quick run)' : ''}`;
    writeFileSync(join(charts, `${r.name}.svg`), renderChart(title, r.chart));
  }
  const missed = Object.entries(targets).filter(([, t]) => !t.met);
  const shown = (path: string): string => (relative(root, path).startsWith('..') ? path : relative(root, path));
  process.stdout.write(
    `\ntargets: ${Object.keys(targets).length - missed.length} met, ${missed.length} MISSED${missed.length ? ` (${missed.map(([k]) => k).join(', ')})` : ''}; charts in ${shown(charts)}\n`,
  );
  process.stdout.write(
    `\n${results.length} section(s) in ${seconds} s on ${machine.cpus} cores (load ${machine.loadAverageAtStart.join(' ')} at start, ${loadAtEnd.join(' ')} at end); figures in ${shown(out)}\n`,
  );
  if (failures.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] ${err instanceof BenchConfigError ? err.message : String((err as Error).stack)}\n`);
  process.exitCode = 1;
});
