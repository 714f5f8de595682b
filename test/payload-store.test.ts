/**
 * Large payloads off the history: the content-addressed store on its own (stored once, every read checked against
 * its hash), and a goal with a 200 KiB input whose tool returns documents of 300 KiB against a real dev server: the
 * input leaves the history by External Storage, the documents by the conversation store (the tool activity keeps
 * them, the history holds previews and hashes), no payload over 256 KiB is left, and the goal completes while its
 * audit and the codec server still read the whole documents.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { auditGoal } from '../src/audit/index.js';
import { goalState } from '../src/client/goals.js';
import { bundleWorkflowCode } from '@temporalio/worker';
import { batonDataConverter, failureConverterPath } from '../src/codec/data-converter.js';
import { startCodecServer } from '../src/codec/server.js';
import {
  ContentAddressedDriver,
  FileObjectStore,
  objectKey,
  objectStoreFrom,
  StoredPayloadError,
  STORE_DRIVER_NAME,
} from '../src/codec/payload-store.js';
import { storedReference } from '../src/codec/stored-references.js';
import { loadConfig } from '../src/config.js';
import { blueprint, createHarness, type Harness } from './helpers/harness.js';
import { runsOf } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';

const { Payload: PayloadProto } = proto.temporal.api.common.v1;
const KiB = 1024;

function payloadsIn(value: unknown, out: Payload[] = []): Payload[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return out;
  const v = value as { metadata?: unknown; data?: unknown };
  if (v.data instanceof Uint8Array && v.metadata && typeof v.metadata === 'object') {
    out.push(value);
    return out;
  }
  for (const child of Array.isArray(value) ? value : Object.values(value)) payloadsIn(child, out);
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

describe('payload store settings', () => {
  it('reads BATON_PAYLOAD_STORE and refuses a threshold that is not a size', () => {
    expect(loadConfig({ BATON_PAYLOAD_STORE: '/srv/payloads', BATON_PAYLOAD_THRESHOLD: '65536' })).toMatchObject({
      payloadStore: '/srv/payloads',
      payloadThreshold: 65_536,
    });
    expect(() => loadConfig({ BATON_PAYLOAD_THRESHOLD: '12' })).toThrow(/BATON_PAYLOAD_THRESHOLD is invalid: .*1024/);
    expect(objectStoreFrom('s3://bucket/prefix', {}).location).toBe('s3://bucket/prefix');
  });
});

describe('the content-addressed driver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-store-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores each payload once under its sha256 and reads it back', async () => {
    const driver = new ContentAddressedDriver(new FileObjectStore(dir));
    const payload = defaultPayloadConverter.toPayload({ text: 'x'.repeat(10_000) });
    const [a, b] = await driver.store({}, [payload, payload]);
    expect(a!.claimData.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b!.claimData).toEqual(a!.claimData);
    expect(filesUnder(dir)).toHaveLength(1);
    const [back] = await driver.retrieve({}, [a!]);
    expect(defaultPayloadConverter.fromPayload(back!)).toEqual({ text: 'x'.repeat(10_000) });
  });

  it('refuses an object that does not match its hash, and a missing one, naming the problem', async () => {
    const driver = new ContentAddressedDriver(new FileObjectStore(dir));
    const [claim] = await driver.store({}, [defaultPayloadConverter.toPayload({ amount: 100 })]);
    const file = join(dir, objectKey(claim!.claimData.sha256!));
    const original = readFileSync(file);
    const altered = Buffer.from(original.toString('latin1').replace('100', '999'), 'latin1');
    expect(altered.equals(original)).toBe(false);
    writeFileSync(file, altered);
    await expect(driver.retrieve({}, [claim!])).rejects.toThrow(/does not match its hash.*altered/);
    rmSync(file);
    await expect(driver.retrieve({}, [claim!])).rejects.toThrow(StoredPayloadError);
    await expect(driver.retrieve({}, [claim!])).rejects.toThrow(/missing from file:.*BATON_PAYLOAD_STORE/);
  });
});

const readDocument = {
  read_document: {
    description: 'Read a document',
    schema: z.strictObject({ id: z.string() }),
    run: ({ id }: { id: string }) => Promise.resolve(`DOC-${id}-BEGIN ${'lorem ipsum '.repeat(25_000)} DOC-${id}-END`),
  },
};

const reader = blueprint(`apiVersion: baton/v1
name: reader
models: { default: { model: m } }
agents:
  reader: { role: planner, instructions: Read the documents., tools: [read_document] }
entry: reader
tools:
  read_document: { type: builtin, sideEffect: none, maxResponseBytes: 1000000 }
`);

/** A goal input over the payload threshold: it goes to the store by External Storage. */
const bigInput = { brief: `BRIEF-BEGIN ${'context '.repeat(25_000)} BRIEF-END` };

/** The tool results in a goal's history, as recorded (previews and references). */
function toolResults(runs: { events: { activityTaskCompletedEventAttributes?: unknown }[] }[]) {
  return runs
    .flatMap((run) => run.events)
    .flatMap((e) => {
      const result = (e.activityTaskCompletedEventAttributes as { result?: { payloads?: Payload[] } } | undefined)
        ?.result?.payloads?.[0];
      if (!result) return [];
      const value = defaultPayloadConverter.fromPayload<{ output?: string; stored?: { sha256: string } }>(result);
      return value?.stored ? [value] : [];
    });
}

function loadReaderScript(h: Harness): void {
  h.model.load({
    goal: 'reader',
    replies: [
      {
        when: { agent: 'reader', after: 'user' },
        toolCalls: [
          { name: 'read_document', arguments: { id: 'a' } },
          { name: 'read_document', arguments: { id: 'b' } },
        ],
      },
      { when: { agent: 'reader', after: 'tool' }, content: 'Both documents read.' },
    ],
  });
}

describe('a goal reading large documents', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let encrypted: Harness;
  const dir = mkdtempSync(join(tmpdir(), 'baton-payloads-'));
  const converter = batonDataConverter(undefined, { objects: new FileObjectStore(dir), threshold: 128 * KiB })!;
  const secretDir = mkdtempSync(join(tmpdir(), 'baton-payloads-enc-'));
  const keys = `k1=${randomBytes(32).toString('base64')}`;
  const encrypting = batonDataConverter(keys, { objects: new FileObjectStore(secretDir) })!;

  beforeAll(async () => {
    env = await startDevServer();
    h = await createHarness(env, { dataConverter: converter, builtins: readDocument });
    const { code } = await bundleWorkflowCode({
      workflowsPath: new URL('../src/workflows/index.ts', import.meta.url).pathname,
      failureConverterPath,
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
    writeFileSync(join(secretDir, 'bundle.js'), code);
    encrypted = await createHarness(env, {
      dataConverter: encrypting,
      builtins: readDocument,
      workflowCode: { workflowBundle: { codePath: join(secretDir, 'bundle.js') } },
    });
  });

  afterAll(async () => {
    await h?.close();
    await encrypted?.close();
    await env?.teardown();
    rmSync(dir, { recursive: true, force: true });
    rmSync(secretDir, { recursive: true, force: true });
  });

  it('keeps every history payload under 256 KiB, completes, and still reads the documents', async () => {
    loadReaderScript(h);
    const handle = await h.start(reader, bigInput);
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Both documents read.' });

    const runs = await runsOf(h.client, handle.workflowId);
    const payloads = runs.flatMap((run) => payloadsIn(run.events));
    const sizes = payloads.map((p) => PayloadProto.encode(p).finish().length);
    expect(Math.max(...sizes)).toBeLessThan(256 * KiB);
    // The input went somewhere: references in the history, objects in the store over the threshold.
    const refs = payloads.map(storedReference).filter((r) => r !== undefined);
    expect(refs.length).toBeGreaterThanOrEqual(1);
    expect(refs.every((r) => r.driverName === STORE_DRIVER_NAME)).toBe(true);
    // The documents too: each tool result is a preview with the hash of the whole text, kept once in the store.
    const results = toolResults(runs);
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.output!.length).toBeLessThan(1000);
      expect(r.stored!.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const objects = filesUnder(dir);
    const stored = objects.map((f) => readFileSync(f).toString('utf8'));
    expect(stored.filter((s) => s.includes('DOC-a-BEGIN') && s.includes('DOC-a-END'))).toHaveLength(1);
    expect(stored.filter((s) => s.includes('DOC-b-BEGIN') && s.includes('DOC-b-END'))).toHaveLength(1);
    expect(stored.some((s) => s.includes('BRIEF-END'))).toBe(true);
    // The history itself no longer holds the documents: their ends are only in the store.
    const history = JSON.stringify(
      runs.flatMap((run) => payloadsIn(run.events)).map((p) => Buffer.from(p.data ?? []).toString('utf8')),
    );
    expect(history).toContain('DOC-a-BEGIN');
    expect(history).not.toContain('DOC-a-END');

    // The audit puts the stored texts back: the tool results read as the tool returned them, whole.
    const audit = JSON.stringify((await auditGoal(h.client, handle.workflowId)).entries);
    expect(audit).toContain('DOC-a-END');
    expect(audit).toContain('DOC-b-END');
    // Without the store the audit says what is missing instead of showing references as if they were the records.
    const bare = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    await expect(auditGoal(bare, handle.workflowId)).rejects.toThrow(/set BATON_PAYLOAD_STORE/);
    expect((await goalState(h.client, handle.workflowId)).status).toBe('completed');
  });

  it('stores ciphertext when encryption is on, and the codec server reads it back for the Web UI', async () => {
    loadReaderScript(encrypted);
    const handle = await encrypted.start(reader, bigInput);
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Both documents read.' });
    const objects = filesUnder(secretDir).filter((f) => f.includes('sha256'));
    expect(objects.length).toBeGreaterThanOrEqual(2);
    // Decrypted with the project's codec, the objects hold the documents; as stored, none shows them.
    const codec = encrypting.payloadCodecs![0]!;
    const plain: string[] = [];
    for (const f of objects) {
      const [p] = await codec.decode([PayloadProto.decode(readFileSync(f))]);
      plain.push(Buffer.from(p!.data!).toString('utf8'));
    }
    expect(plain.some((t) => t.includes('DOC-a-BEGIN'))).toBe(true);
    expect(plain.some((t) => t.includes('BRIEF-END'))).toBe(true);
    expect(objects.some((f) => readFileSync(f).toString('latin1').includes('lorem ipsum'))).toBe(false);

    const runs = await runsOf(encrypted.client, handle.workflowId);
    const refs = runs.flatMap((run) => payloadsIn(run.events)).filter((p) => storedReference(p) !== undefined);
    expect(refs.length).toBeGreaterThanOrEqual(1);
    // The tool results, encrypted in the history: previews with the hash of the whole (encrypted) text.
    const results = runs
      .flatMap((run) => run.events)
      .filter((e) => e.activityTaskCompletedEventAttributes?.result?.payloads?.length)
      .map((e) => e.activityTaskCompletedEventAttributes!.result!.payloads![0]!);
    const server = await startCodecServer({
      codec,
      storage: encrypting.externalStorage!,
      host: '127.0.0.1',
      port: 0,
      origins: [],
    });
    try {
      const b64 = (u: Uint8Array | null | undefined) => Buffer.from(u ?? []).toString('base64');
      const body = JSON.stringify({
        payloads: [...refs, ...results].map((p) => ({
          metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
          data: b64(p.data),
        })),
      });
      const res = await fetch(`${server.url}/decode`, { method: 'POST', body });
      expect(res.status).toBe(200);
      const { payloads } = (await res.json()) as { payloads: { data: string }[] };
      const decoded = payloads.map((p) => Buffer.from(p.data, 'base64').toString('utf8'));
      expect(decoded.some((t) => t.includes('BRIEF-END'))).toBe(true);
      // The codec server shows the stored tool outputs whole, for the Web UI.
      expect(decoded.some((t) => t.includes('DOC-b-BEGIN') && t.includes('DOC-b-END'))).toBe(true);
    } finally {
      await server.close();
    }
  });
});
