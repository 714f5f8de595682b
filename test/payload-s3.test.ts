/**
 * The payload store on S3, against a real S3-compatible server (versitygw over a temporary directory, on loopback,
 * started and stopped here; built once into .tools/versitygw/): objects stored under their sha256 and checked on
 * every read, an altered or missing object refused with the store named, and a goal whose large input and 300 KiB
 * documents leave the history for the bucket, completing while its audit still reads the whole documents.
 */
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { auditGoal } from '../src/audit/index.js';
import { batonDataConverter } from '../src/codec/data-converter.js';
import { ContentAddressedDriver, objectKey, objectStoreFrom, StoredPayloadError } from '../src/codec/payload-store.js';
import { S3ObjectStore, s3OptionsFrom } from '../src/codec/s3-store.js';
import { blueprint, createHarness, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';
import { startVersityGw, type VersityGw } from './helpers/versitygw.js';

const BUCKET = 'baton-payloads';

describe('S3 locations', () => {
  it('reads s3://BUCKET/PREFIX with the AWS endpoint and region, and names a bad one', () => {
    expect(s3OptionsFrom('s3://baton-payloads/prod/goals', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:7070' })).toEqual({
      bucket: 'baton-payloads',
      prefix: 'prod/goals',
      endpoint: 'http://127.0.0.1:7070',
    });
    expect(s3OptionsFrom('s3://b-1', { AWS_REGION: 'eu-west-1' })).toEqual({ bucket: 'b-1', region: 'eu-west-1' });
    expect(() => s3OptionsFrom('s3://Bad_Bucket', {})).toThrow(/not an S3 location: use s3:\/\/BUCKET/);
    expect(objectStoreFrom('s3://baton-payloads/x', {}).location).toBe('s3://baton-payloads/x');
  });
});

describe('the payload store on a real S3-compatible server (versitygw)', () => {
  let gw: VersityGw;
  let s3: S3Client;
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const env3 = () => ({
    AWS_ENDPOINT_URL_S3: gw.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: gw.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: gw.credentials.secretAccessKey,
  });

  beforeAll(async () => {
    gw = await startVersityGw();
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: gw.endpoint,
      forcePathStyle: true,
      credentials: gw.credentials,
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    env = await startDevServer();
    const objects = new S3ObjectStore({
      ...s3OptionsFrom(`s3://${BUCKET}/goals`, env3()),
      credentials: gw.credentials,
    });
    h = await createHarness(env, {
      dataConverter: batonDataConverter(undefined, { objects })!,
      builtins: {
        read_document: {
          description: 'Read a document',
          schema: z.strictObject({ id: z.string() }),
          run: ({ id }: { id: string }) =>
            Promise.resolve(`DOC-${id}-BEGIN ${'lorem ipsum '.repeat(25_000)} DOC-${id}-END`),
        },
      },
    });
  }, 900_000);

  afterAll(async () => {
    await h?.close();
    await env?.teardown();
    s3?.destroy();
    await gw?.close();
  });

  async function keys(prefix: string): Promise<string[]> {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key!);
  }

  it('stores each payload once under its sha256, reads it back, and refuses an altered or missing object', async () => {
    const store = new S3ObjectStore({
      bucket: BUCKET,
      prefix: 'driver',
      endpoint: gw.endpoint,
      credentials: gw.credentials,
    });
    const driver = new ContentAddressedDriver(store);
    const payload = defaultPayloadConverter.toPayload({ amount: 100, note: 'x'.repeat(5000) });
    const [a, b] = await driver.store({}, [payload, payload]);
    expect(b!.claimData).toEqual(a!.claimData);
    const hash = a!.claimData.sha256!;
    expect(await keys('driver/')).toEqual([`driver/${objectKey(hash)}`]);
    const [back] = await driver.retrieve({}, [a!]);
    expect(defaultPayloadConverter.fromPayload(back!)).toEqual({ amount: 100, note: 'x'.repeat(5000) });

    // Someone with write access to the bucket swaps the object: the next read says so.
    const altered = defaultPayloadConverter.toPayload({ amount: 999, note: 'x'.repeat(5000) });
    const { temporal } = (await import('@temporalio/proto')).default;
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `driver/${objectKey(hash)}`,
        Body: temporal.api.common.v1.Payload.encode(altered).finish(),
      }),
    );
    await expect(driver.retrieve({}, [a!])).rejects.toThrow(/does not match its hash.*altered/);
    await expect(driver.read('0'.repeat(64))).rejects.toThrow(StoredPayloadError);
    await expect(driver.read('0'.repeat(64))).rejects.toThrow(/missing from s3:\/\/baton-payloads\/driver/);
  });

  it('keeps a goal’s large input and documents in the bucket, and the audit reads them whole', async () => {
    h.model.load({
      goal: 'reader-s3',
      replies: [
        {
          when: { after: 'user' },
          toolCalls: [
            { name: 'read_document', arguments: { id: 'a' } },
            { name: 'read_document', arguments: { id: 'b' } },
          ],
        },
        { when: { after: 'tool', contains: 'DOC-b-END' }, content: 'Both documents read.' },
      ],
    });
    const loaded = blueprint(`apiVersion: baton/v1
name: reader-s3
models: { default: { model: m } }
agents:
  reader: { role: planner, instructions: Read the documents., tools: [read_document] }
entry: reader
tools:
  read_document: { type: builtin, sideEffect: none, maxResponseBytes: 1000000 }
`);
    const handle = await h.start(loaded, { brief: `BRIEF ${'context '.repeat(25_000)} BRIEF-END` });
    // The model was sent the whole second document (its end), read back from the bucket.
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Both documents read.' });
    // The input (over the threshold), both documents and each call's transcript are objects in the bucket.
    expect((await keys('goals/sha256/')).length).toBeGreaterThanOrEqual(4);
    const audit = JSON.stringify((await auditGoal(h.client, handle.workflowId)).entries);
    expect(audit).toContain('DOC-a-END');
    expect(audit).toContain('BRIEF-END');
  });
});
