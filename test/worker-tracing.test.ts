/**
 * OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: `baton start` opens the trace, the worker
 * continues it through the workflow and its activities, and both export over OTLP/HTTP to a collector (here a
 * loopback receiver that keeps what it is sent). Without the variable, nothing is exported.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScriptedModel, type ScriptedModel } from '../src/scripted-model/server.js';
import { baton } from './helpers/cli.js';
import { eventually } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';
import { spawnWorker, type WorkerProcess } from './helpers/worker-process.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string }[] }[];
  }[];
}

let env: TestWorkflowEnvironment;
let model: ScriptedModel;
let collector: Server;
let collectorURL: string;
const spans: ExportedSpan[] = [];
const dir = mkdtempSync(join(tmpdir(), 'baton-tracing-'));
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  env = await startDevServer();
  model = await startScriptedModel({
    quiet: true,
    scripts: [{ goal: 'traced', replies: [{ content: 'All done.' }] }],
  });
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const parsed = JSON.parse(body) as OtlpRequest;
        for (const rs of parsed.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ ...s, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorURL = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  writeFileSync(
    join(dir, 'traced.yaml'),
    [
      'apiVersion: baton/v1',
      'name: traced',
      'models: { default: { model: gpt-4o-mini } }',
      'agents: { solo: { role: executor, instructions: Answer. } }',
      'entry: solo',
    ].join('\n'),
  );
});

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  collector?.closeAllConnections();
  await new Promise((resolve) => collector?.close(resolve));
  await model?.close();
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

describe('tracing', () => {
  it('follows a goal from `baton start` through the workflow to its activities in one trace', async () => {
    const taskQueue = `traced-${randomUUID()}`;
    const common = {
      TEMPORAL_ADDRESS: env.address,
      BATON_TASK_QUEUE: taskQueue,
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorURL,
    };
    const worker = await spawnWorker({
      ...common,
      OPENAI_BASE_URL: model.baseURL,
      OPENAI_API_KEY: 'test-key',
      OTEL_SERVICE_NAME: 'baton-worker-test',
    });
    workers.push(worker);
    await eventually(async () => ((await worker.get('/readyz'))?.status === 200 ? true : undefined), 'the worker');
    expect(worker.logs().map((l) => l.msg)).toContain('tracing to OTLP endpoint');

    const started = await baton(['start', join(dir, 'traced.yaml'), '--wait', '--json'], common);
    expect(started.code, started.stderr).toBe(0);
    expect((JSON.parse(started.stdout) as { result: { status: string } }).result.status).toBe('completed');

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);

    const start = spans.find((s) => s.name === 'StartWorkflow:goalWorkflow');
    expect(start?.service).toBe('baton-cli');
    const trace = spans.filter((s) => s.traceId === start?.traceId);
    const names = trace.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining(['RunWorkflow:goalWorkflow', 'StartActivity:callModel', 'RunActivity:callModel']),
    );
    expect(trace.find((s) => s.name === 'RunActivity:callModel')?.service).toBe('baton-worker-test');
    // Each worker span hangs off a span of the same trace.
    const ids = new Set(trace.map((s) => s.spanId));
    for (const s of trace.filter((t) => t !== start)) expect(ids.has(s.parentSpanId ?? ''), s.name).toBe(true);
  });

  it('exports nothing when OTEL_EXPORTER_OTLP_ENDPOINT is not set', async () => {
    const before = spans.length;
    const taskQueue = `untraced-${randomUUID()}`;
    const worker = await spawnWorker({
      TEMPORAL_ADDRESS: env.address,
      BATON_TASK_QUEUE: taskQueue,
      OPENAI_BASE_URL: model.baseURL,
      OPENAI_API_KEY: 'test-key',
    });
    workers.push(worker);
    await eventually(async () => ((await worker.get('/readyz'))?.status === 200 ? true : undefined), 'the worker');
    const started = await baton(['start', join(dir, 'traced.yaml'), '--wait', '--json'], {
      TEMPORAL_ADDRESS: env.address,
      BATON_TASK_QUEUE: taskQueue,
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
    });
    expect(started.code, started.stderr).toBe(0);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(spans.length).toBe(before);
    expect(worker.logs().map((l) => l.msg)).not.toContain('tracing to OTLP endpoint');
  });
});
