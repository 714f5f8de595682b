/**
 * Where a worker keeps binary content of MCP tool results (images, audio, binary resources), which history holds only
 * by reference (`blob:sha256:<hex>`): one file per content hash in a directory. The store is bounded: a blob is kept
 * for the retention period after it was last stored (storing the same bytes again renews it), the directory's blobs
 * are held under a byte cap by deleting the oldest first, and content larger than the cap is not stored at all.
 * Only files named like blobs (and the store's own temporary files) are ever deleted.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What storing one piece of content came to: its reference, or why it was not kept. */
export type PutResult = { ref: string } | { notStored: string };

/** Where a worker keeps binary content of tool results. */
export interface BlobStore {
  /** Stores the bytes and returns a reference (`blob:sha256:<hex>`) an operator can look up, or why it did not. */
  put(data: Buffer, mimeType: string): Promise<PutResult>;
}

/** How long and how much a directory store keeps. */
export interface BlobRetention {
  /** How long a blob is kept after it was last stored; default 7 days. */
  maxAgeMs: number;
  /** Bytes the directory's blobs may take; the oldest are deleted first beyond it; default 1 GiB. */
  maxBytes: number;
}

/** The defaults: 7 days, 1 GiB. */
export const DEFAULT_BLOB_RETENTION: BlobRetention = { maxAgeMs: 7 * 24 * 3_600_000, maxBytes: 1024 ** 3 };

/** What one sweep did. */
export interface SweepReport {
  /** Blobs deleted for their age, then for the cap. */
  expired: number;
  evicted: number;
  /** Blobs and their bytes left. */
  kept: number;
  bytes: number;
}

const BLOB_FILE = /^[0-9a-f]{64}\.[a-z0-9]+$/;
const TEMP_FILE = /^\.tmp-[0-9a-f-]{36}$/;
/** A temporary file this old belongs to a write that died with its worker. */
const STALE_TEMP_MS = 3_600_000;

/** A store in a directory of the worker's file system, with retention (see the module comment). */
export class DirectoryBlobStore implements BlobStore {
  readonly retention: BlobRetention;
  /** Bytes the blobs take as far as this store knows: the last sweep's count plus what it stored since. */
  private estimate = Infinity;
  private lastSweep = 0;
  private sweeping: Promise<SweepReport> | undefined;

  constructor(
    readonly dir: string,
    retention: Partial<BlobRetention> = {},
    /** The clock (tests set it); file ages are measured against it. */
    private readonly now: () => number = Date.now,
  ) {
    this.retention = { ...DEFAULT_BLOB_RETENTION, ...retention };
  }

  /** How often puts and the worker's timer sweep: a quarter of the retention, between a minute and an hour. */
  get sweepEveryMs(): number {
    return Math.min(3_600_000, Math.max(60_000, Math.floor(this.retention.maxAgeMs / 4)));
  }

  async put(data: Buffer, mimeType: string): Promise<PutResult> {
    if (data.byteLength > this.retention.maxBytes) {
      return { notStored: `larger than the worker's blob store holds (${this.retention.maxBytes} bytes)` };
    }
    const hash = createHash('sha256').update(data).digest('hex');
    const ext = (/^[a-z]+\/([a-z0-9.+-]+)$/i.exec(mimeType)?.[1] ?? 'bin').replace(/[^a-z0-9]/gi, '').toLowerCase();
    const name = `${hash}.${ext || 'bin'}`;
    await mkdir(this.dir, { recursive: true });
    // Written aside and renamed, so a sweep or a reader never sees half a blob; a new file's time renews retention.
    const temp = join(this.dir, `.tmp-${randomUUID()}`);
    await writeFile(temp, data);
    await rename(temp, join(this.dir, name));
    this.estimate += data.byteLength;
    if (this.estimate > this.retention.maxBytes || this.now() - this.lastSweep >= this.sweepEveryMs) {
      await this.sweep(name);
    }
    return { ref: `blob:sha256:${hash}` };
  }

  /**
   * Deletes blobs past the retention period, then the oldest until the rest fit under the cap (never `keep`, the
   * blob just stored). Sweeps do not overlap; several workers sharing the directory may sweep at once safely.
   */
  sweep(keep?: string): Promise<SweepReport> {
    this.sweeping ??= this.sweepOnce(keep).finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepOnce(keep: string | undefined): Promise<SweepReport> {
    const now = this.now();
    this.lastSweep = now;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.estimate = 0;
      return { expired: 0, evicted: 0, kept: 0, bytes: 0 };
    }
    const report: SweepReport = { expired: 0, evicted: 0, kept: 0, bytes: 0 };
    const live: { name: string; size: number; mtime: number }[] = [];
    for (const name of names) {
      const blob = BLOB_FILE.test(name);
      if (!blob && !TEMP_FILE.test(name)) continue;
      const info = await stat(join(this.dir, name)).catch(() => undefined);
      if (!info?.isFile()) continue;
      const age = now - info.mtimeMs;
      if (!blob) {
        if (age > STALE_TEMP_MS) await remove(join(this.dir, name));
      } else if (age > this.retention.maxAgeMs && name !== keep) {
        if (await remove(join(this.dir, name))) report.expired += 1;
      } else {
        live.push({ name, size: info.size, mtime: info.mtimeMs });
      }
    }
    live.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : 1));
    let bytes = live.reduce((sum, b) => sum + b.size, 0);
    for (const b of live) {
      if (bytes <= this.retention.maxBytes) break;
      if (b.name === keep) continue;
      if (await remove(join(this.dir, b.name))) report.evicted += 1;
      bytes -= b.size;
    }
    report.kept = live.length - report.evicted;
    report.bytes = bytes;
    this.estimate = bytes;
    return report;
  }

  /** Sweeps now and then every `sweepEveryMs` until the returned function is called (the timer never holds the process). */
  startSweeping(onError: (err: unknown) => void = () => undefined): () => void {
    const run = (): void => {
      this.sweep().catch(onError);
    };
    run();
    const timer = setInterval(run, this.sweepEveryMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

async function remove(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    // Another worker sharing the directory got there first.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** A store in `dir`, bounded by `retention` (defaults: 7 days, 1 GiB). */
export function directoryBlobStore(dir: string, retention: Partial<BlobRetention> = {}): DirectoryBlobStore {
  return new DirectoryBlobStore(dir, retention);
}
