/**
 * The payload store on S3 (or any S3-compatible server: MinIO, versitygw, Ceph), for production: several workers and
 * the CLI share one bucket. `BATON_PAYLOAD_STORE=s3://BUCKET/PREFIX`; the AWS SDK finds credentials and the region as
 * it always does (environment, shared config, instance or pod role), and `AWS_ENDPOINT_URL_S3` (or
 * `AWS_ENDPOINT_URL`) points it at an S3-compatible server, addressed path-style. The SDK is loaded on first use, so
 * workers and CLI commands that keep payloads elsewhere never load it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { StoredPayloadError, type ObjectStore } from './payload-store.js';

/** How to reach the bucket; anything left out comes from the AWS SDK's usual sources. */
export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (no leading or trailing slash needed). */
  prefix?: string;
  /** An S3-compatible endpoint (`http://127.0.0.1:7070`); addressed path-style. */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads `s3://BUCKET/PREFIX` and the AWS endpoint and region variables. */
export function s3OptionsFrom(url: string, env: Env = process.env): S3StoreOptions {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) {
    throw new StoredPayloadError(
      `BATON_PAYLOAD_STORE=${url} is not an S3 location: use s3://BUCKET or s3://BUCKET/PREFIX (a bucket name of 3 to 63 lowercase letters, digits, dots and hyphens)`,
    );
  }
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  return {
    bucket: m[1]!,
    ...(m[2] ? { prefix: m[2] } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
  };
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Objects in an S3 bucket under a prefix. */
export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly prefix: string;
  private client?: Promise<S3Client>;

  constructor(private readonly options: S3StoreOptions) {
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.location = `s3://${options.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
  }

  private s3(): Promise<S3Client> {
    this.client ??= import('@aws-sdk/client-s3').then(
      ({ S3Client: Client }) =>
        new Client({
          region: this.options.region ?? 'us-east-1',
          ...(this.options.endpoint ? { endpoint: this.options.endpoint, forcePathStyle: true } : {}),
          ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
        }),
    );
    return this.client;
  }

  private key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /** Writes the object. Content addressing makes a second write of a key the same bytes, so no check comes first. */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      await (
        await this.s3()
      ).send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.key(key),
          Body: bytes,
          ContentType: 'application/octet-stream',
        }),
      );
    } catch (err) {
      throw new StoredPayloadError(`cannot write ${key} to ${this.location}: ${(err as Error).message}`);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const out = await (
        await this.s3()
      ).send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.key(key) }));
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new StoredPayloadError(`cannot read ${key} from ${this.location}: ${(err as Error).message}`);
    }
  }
}
