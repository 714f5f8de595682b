/**
 * The worker's blob store of MCP results, bounded: blobs older than the retention are deleted, the oldest go first
 * when the directory would hold more than its cap, content over the cap is not stored (and the model is told), other
 * files in the directory are never touched, and the worker's settings (BATON_BLOB_*) are read and checked.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore, type PutResult } from '../src/activities/mcp/blobs.js';
import { formatResult } from '../src/activities/mcp/results.js';
import { ConfigError, loadWorkerConfig } from '../src/config.js';
import { eventually } from './helpers/harness.js';

const DAY = 24 * 3_600_000;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-blobs-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function refOf(result: PutResult): string {
  if (!('ref' in result)) throw new Error(`not stored: ${result.notStored}`);
  return result.ref;
}

const fileOf = (ref: string, ext: string): string => join(dir, `${ref.slice('blob:sha256:'.length)}.${ext}`);

/** Sets a file's times to `ago` milliseconds before now. */
async function age(path: string, ago: number): Promise<void> {
  const when = new Date(Date.now() - ago);
  await utimes(path, when, when);
}

describe('the blob store', () => {
  it('stores content under its hash and returns the reference', async () => {
    const store = new DirectoryBlobStore(dir);
    const ref = refOf(await store.put(Buffer.from('png bytes'), 'image/png'));
    expect(ref).toMatch(/^blob:sha256:[0-9a-f]{64}$/);
    expect(await readFile(fileOf(ref, 'png'), 'utf8')).toBe('png bytes');
    expect((await readdir(dir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('deletes blobs past the retention, keeps fresh ones and never touches other files', async () => {
    const store = new DirectoryBlobStore(dir, { maxAgeMs: 7 * DAY });
    const old = refOf(await store.put(Buffer.from('old'), 'image/png'));
    const fresh = refOf(await store.put(Buffer.from('fresh'), 'audio/wav'));
    await age(fileOf(old, 'png'), 8 * DAY);
    await age(fileOf(fresh, 'wav'), 6 * DAY);
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, 'the operator keeps this here');
    await age(notes, 30 * DAY);
    const staleTemp = join(dir, '.tmp-00000000-0000-4000-8000-000000000000');
    await writeFile(staleTemp, 'half a blob of a worker that died');
    await age(staleTemp, 2 * 3_600_000);

    const report = await store.sweep();
    expect(report).toMatchObject({ expired: 1, evicted: 0, kept: 1 });
    expect(existsSync(fileOf(old, 'png'))).toBe(false);
    expect(existsSync(fileOf(fresh, 'wav'))).toBe(true);
    expect(existsSync(notes)).toBe(true);
    expect(existsSync(staleTemp)).toBe(false);
  });

  it('storing the same content again renews its retention', async () => {
    const store = new DirectoryBlobStore(dir, { maxAgeMs: 7 * DAY });
    const ref = refOf(await store.put(Buffer.from('again'), 'image/png'));
    await age(fileOf(ref, 'png'), 8 * DAY);
    expect(refOf(await store.put(Buffer.from('again'), 'image/png'))).toBe(ref);
    await store.sweep();
    expect(existsSync(fileOf(ref, 'png'))).toBe(true);
  });

  it('holds the directory under its cap by deleting the oldest first, as it stores', async () => {
    const store = new DirectoryBlobStore(dir, { maxBytes: 1_000 });
    const refs: string[] = [];
    for (const [i, ago] of [3, 2, 1].entries()) {
      refs.push(refOf(await store.put(Buffer.alloc(400, i), 'application/octet-stream')));
      await age(fileOf(refs[i]!, 'octetstream'), ago * 60_000);
    }
    // The third put took the directory to 1,200 bytes: the oldest went, the newest two stay.
    expect(existsSync(fileOf(refs[0]!, 'octetstream'))).toBe(false);
    expect(existsSync(fileOf(refs[1]!, 'octetstream'))).toBe(true);
    expect(existsSync(fileOf(refs[2]!, 'octetstream'))).toBe(true);
    expect(await store.sweep()).toMatchObject({ kept: 2, bytes: 800 });
  });

  it('does not store content over the cap, and the model is told', async () => {
    const store = new DirectoryBlobStore(dir, { maxBytes: 1_000 });
    expect(await store.put(Buffer.alloc(2_000), 'image/png')).toEqual({
      notStored: "larger than the worker's blob store holds (1000 bytes)",
    });
    const image = Buffer.alloc(2_000, 7).toString('base64');
    const formatted = await formatResult(
      { content: [{ type: 'image', data: image, mimeType: 'image/png' }] },
      65_536,
      store,
    );
    expect(formatted.attachments).toEqual([]);
    expect(formatted.output).toContain(
      "[image: image/png, 2000 bytes, not stored: larger than the worker's blob store holds (1000 bytes)]",
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('sweeps on a timer while the worker runs, starting at once', async () => {
    const store = new DirectoryBlobStore(dir, { maxAgeMs: DAY });
    const ref = refOf(await store.put(Buffer.from('expires'), 'image/png'));
    await age(fileOf(ref, 'png'), 2 * DAY);
    const stop = store.startSweeping();
    try {
      await eventually(() => (existsSync(fileOf(ref, 'png')) ? undefined : true), 'the expired blob to be swept');
    } finally {
      stop();
    }
    expect(store.sweepEveryMs).toBe(3_600_000);
  });
});

describe('BATON_BLOB_* settings', () => {
  it('default to .baton/blobs, 7 days and 1 GiB, and read durations and sizes', () => {
    expect(loadWorkerConfig({}).blobs).toEqual({ dir: '.baton/blobs', maxAgeMs: 7 * DAY, maxBytes: 1024 ** 3 });
    expect(
      loadWorkerConfig({
        BATON_BLOB_DIR: '/var/baton/blobs',
        BATON_BLOB_RETENTION: '36h',
        BATON_BLOB_MAX_BYTES: '512M',
      }).blobs,
    ).toEqual({ dir: '/var/baton/blobs', maxAgeMs: 36 * 3_600_000, maxBytes: 512 * 1024 ** 2 });
    expect(loadWorkerConfig({ BATON_BLOB_MAX_BYTES: '2GiB' }).blobs.maxBytes).toBe(2 * 1024 ** 3);
  });

  it('name the setting and the fix when malformed', () => {
    expect(() => loadWorkerConfig({ BATON_BLOB_RETENTION: 'a week' })).toThrow(ConfigError);
    expect(() => loadWorkerConfig({ BATON_BLOB_RETENTION: 'a week' })).toThrow(
      /BATON_BLOB_RETENTION is invalid: expected a duration such as 12h, 7d or 2w/,
    );
    expect(() => loadWorkerConfig({ BATON_BLOB_MAX_BYTES: '1TB' })).toThrow(
      /BATON_BLOB_MAX_BYTES is invalid: expected a number of bytes, optionally with K, M or G/,
    );
  });
});
