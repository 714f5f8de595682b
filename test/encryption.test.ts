/**
 * Payload encryption: AES-256-GCM with key ids and rotation, used by worker and client alike; the raw history on the
 * server holds no plaintext prompt, tool argument, secret or failure message; the codec server decrypts for the Web
 * UI and the Temporal CLI, behind a bearer token and CORS.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlueprint, parseBlueprint } from '../src/blueprint/load.js';
import { batonDataConverter, failureConverterPath } from '../src/codec/data-converter.js';
import { AesGcmCodec, parseKeys } from '../src/codec/encryption.js';
import { startCodecServer, type CodecServer } from '../src/codec/server.js';
import { goalState } from '../src/client/goals.js';
import { parse } from 'yaml';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { temporal } from './helpers/cli.js';
import { decodedHistoryText } from './helpers/decoded-history.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';
import { signedDecide } from './helpers/identity.js';

const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64');
const keys = `k2=${newKey},k1=${oldKey}`;
const SECRET = 'crm-token-7f3a9c1e5b';

describe('AES-256-GCM codec', () => {
  it('round-trips, rotates keys, and refuses unknown keys and tampering', async () => {
    const payload = defaultPayloadConverter.toPayload({ prompt: 'refund 120 USD to c-42' });
    const oldCodec = new AesGcmCodec(parseKeys(`k1=${oldKey}`));
    const rotated = new AesGcmCodec(parseKeys(keys));
    const [sealedOld] = await oldCodec.encode([payload]);
    expect(Buffer.from(sealedOld!.data!).toString('latin1')).not.toContain('c-42');
    const [opened] = await rotated.decode([sealedOld!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual({ prompt: 'refund 120 USD to c-42' }); // old key still decrypts after rotation
    const [sealedNew] = await rotated.encode([payload]);
    expect(Buffer.from(sealedNew!.metadata!['encryption-key-id']!).toString()).toBe('k2');
    await expect(oldCodec.decode([sealedNew!])).rejects.toThrow(/key "k2", which is not in BATON_ENCRYPTION_KEYS/);
    const tampered = Buffer.from(sealedNew!.data!);
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    await expect(rotated.decode([{ ...sealedNew!, data: tampered }])).rejects.toThrow();
  });

  it('binds ciphertexts to their namespace and workflow; old unbound ciphertexts still decrypt unless refused', async () => {
    const codec = new AesGcmCodec(parseKeys(keys));
    const payload = defaultPayloadConverter.toPayload({ prompt: 'refund 120 USD to c-42' });
    const a = { type: 'workflow', namespace: 'default', workflowId: 'goal-a' } as const;
    const [sealed] = await codec.encode([payload], a);
    expect(JSON.parse(Buffer.from(sealed!.metadata!['encryption-context']!).toString())).toEqual({
      v: 2,
      ns: 'default',
      wf: 'goal-a',
    });
    const value = async (p: Promise<unknown[]>) => defaultPayloadConverter.fromPayload((await p)[0] as never);
    expect(await value(codec.decode([sealed!], a))).toEqual({ prompt: 'refund 120 USD to c-42' });
    expect(await value(codec.decode([sealed!]))).toEqual({ prompt: 'refund 120 USD to c-42' }); // no context known
    await expect(codec.decode([sealed!], { ...a, workflowId: 'goal-b' })).rejects.toThrow(
      /belongs to another workflow \(goal-a\), not goal-b/,
    );
    // Relabelling the context breaks the tag.
    const relabelled = {
      ...sealed!,
      metadata: { ...sealed!.metadata, 'encryption-context': Buffer.from('{"v":2,"ns":"default","wf":"goal-b"}') },
    };
    await expect(codec.decode([relabelled], { ...a, workflowId: 'goal-b' })).rejects.toThrow(
      /unable to authenticate data/,
    );
    // A ciphertext from before associated data (no encryption-context), made here the way the old codec made it.
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(newKey, 'base64'), iv);
    const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
    const old = {
      metadata: { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from('k2') },
      data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
    };
    const [opened] = await codec.decode([old], a);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual({ prompt: 'refund 120 USD to c-42' });
    await expect(new AesGcmCodec(parseKeys(keys), { legacy: false }).decode([old], a)).rejects.toThrow(
      /without a bound context/,
    );
  });

  it('rejects malformed key lists with the fix', () => {
    expect(() => parseKeys('nokey')).toThrow(/key-id=BASE64KEY/);
    expect(() => parseKeys(`a=${randomBytes(16).toString('base64')}`)).toThrow(/16 bytes; AES-256 needs 32/);
    expect(() => parseKeys(`a=${oldKey},a=${newKey}`)).toThrow(/unique/);
  });
});

describe('encrypted goals against a real dev server', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let codecServer: CodecServer;
  const dir = mkdtempSync(join(tmpdir(), 'baton-enc-'));

  beforeAll(async () => {
    env = await startDevServer();
    const { code } = await bundleWorkflowCode({
      workflowsPath: new URL('../src/workflows/index.ts', import.meta.url).pathname,
      failureConverterPath,
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
    writeFileSync(join(dir, 'bundle.js'), code);
    const script = parse(readFileSync('goals/scripts/refund-request.script.yaml', 'utf8')) as ScriptInput;
    h = await createHarness(env, {
      scripts: [script],
      extraEnv: { CRM_TOKEN: SECRET },
      dataConverter: batonDataConverter(keys)!,
      workflowCode: { workflowBundle: { codePath: join(dir, 'bundle.js') } },
    });
    const codec = batonDataConverter(keys)!.payloadCodecs![0]!;
    codecServer = await startCodecServer({
      codec,
      host: '127.0.0.1',
      port: 0,
      token: 'test-token-0123456789',
      origins: ['http://localhost:8233'],
    });
  });

  afterAll(async () => {
    await codecServer?.close();
    await h?.close();
    await env?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores no plaintext prompt, argument, secret or failure message in the raw history', async () => {
    const loaded = await loadBlueprint('goals/refund-request.yaml');
    const withSecret = parseBlueprint(
      readFileSync('goals/refund-request.yaml', 'utf8').replace(
        '    sideEffect: none\n',
        "    sideEffect: none\n    headers: { Authorization: 'Bearer ${secret:CRM_TOKEN}' }\n    secrets: [CRM_TOKEN]\n",
      ),
      'refund-with-secret.yaml',
    );
    expect(withSecret.blueprint.tools.lookup_customer).toMatchObject({
      headers: { Authorization: 'Bearer ${secret:CRM_TOKEN}' },
    });
    const handle = await h.start(withSecret, { customerId: 'c-42', amount: 120 });
    await eventually(
      async () => ((await goalState(h.client, handle.workflowId)).status === 'awaiting_approval' ? true : undefined),
      'approval',
    );
    await signedDecide(h.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'alice',
      comment: 'ok',
    });
    const result = await handle.result();
    expect(result.answer).toContain('Refunded 120 USD'); // the encrypted round trip works for worker and client

    // A goal whose model call fails: its failure message must be encrypted too.
    const failing = await h.start({ ...loaded, blueprint: { ...loaded.blueprint, name: 'no-such-script' } }, {});
    await expect(failing.result()).rejects.toThrow();

    // Decode every payload of both histories twice: with the payload converter alone (what anyone reading the
    // server's history gets) and with the project's codec too (what the worker sees). The second search must find
    // each plaintext (so the first one could have), except the secret, which never enters history at all.
    const plaintexts = [
      'You handle refund requests',
      '"customerId"', // tool arguments and goal input
      'Ada Lovelace',
      'order o-9001', // the model's words ('order checked', searched here before, never existed: see issue 13)
      'no script for goal',
      'model call for agent',
    ];
    const codec = batonDataConverter(keys)!.payloadCodecs!;
    let stored = '';
    let decrypted = '';
    for (const id of [handle.workflowId, failing.workflowId]) {
      const raw = JSON.stringify(await env.client.workflow.getHandle(id).fetchHistory());
      expect(raw).toContain('YmluYXJ5L2VuY3J5cHRlZA=='); // "binary/encrypted" metadata, base64
      stored += await decodedHistoryText(env.client, id);
      decrypted += await decodedHistoryText(env.client, id, codec);
    }
    for (const text of plaintexts) {
      expect(decrypted, `the decrypting search finds "${text}"`).toContain(text);
      expect(stored, `the stored history hides "${text}"`).not.toContain(text);
    }
    expect(decrypted).not.toContain(SECRET);
    expect(stored).not.toContain(SECRET);
  });

  it('decrypts through the codec server for the Temporal CLI, with a bearer token and CORS', async () => {
    const loaded = await loadBlueprint('goals/refund-request.yaml');
    const handle = await h.start(loaded, { customerId: 'c-42', amount: 120 });
    await eventually(
      async () => ((await goalState(h.client, handle.workflowId)).status === 'awaiting_approval' ? true : undefined),
      'approval',
    );

    const plain = await temporal([
      'workflow',
      'show',
      '-w',
      handle.workflowId,
      '--address',
      env.address,
      '--output',
      'json',
    ]);
    const decoded = await temporal([
      'workflow',
      'show',
      '-w',
      handle.workflowId,
      '--address',
      env.address,
      '--output',
      'json',
      '--codec-endpoint',
      codecServer.url,
      '--codec-auth',
      'Bearer test-token-0123456789',
    ]);
    expect(decoded.code, decoded.stderr).toBe(0);
    // JSON output keeps payload data base64: decode every data field to read what the codec server returned.
    const texts = (out: string) =>
      [...out.matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)]
        .map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'))
        .join('\n');
    expect(texts(plain.stdout)).not.toContain('Ada Lovelace');
    expect(texts(decoded.stdout)).toContain('Ada Lovelace');

    const body = JSON.stringify({ payloads: [] });
    const unauthorized = await fetch(`${codecServer.url}/decode`, { method: 'POST', body });
    expect(unauthorized.status).toBe(401);
    const preflight = await fetch(`${codecServer.url}/default/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8233' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    const foreign = await fetch(`${codecServer.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example' },
    });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    await h.client.workflow.getHandle(handle.workflowId).cancel();
  });
});
