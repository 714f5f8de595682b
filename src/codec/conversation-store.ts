/**
 * The conversation store (issue 14): message texts (tool results) and the transcripts model calls send, kept once
 * by the activity that produced them, so that neither the history nor a model call's input grows with the
 * conversation. It is the payload store's object store under another use: each object is a Temporal payload, run
 * through the data converter's codecs (so with BATON_ENCRYPTION_KEYS it is ciphertext) and stored under the sha256 of
 * its encoded bytes by the same content-addressed driver, which checks every read against that hash. The workflow
 * keeps references ({@link StoredText}, {@link ContextRef}); the audit and the codec server read them like any stored
 * payload. Retention is the payload store's (docs/payload-store.md).
 */
import { defaultPayloadConverter, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import type { ChatMessage, ContextRef } from '../workflows/definitions.js';
import { ContentAddressedDriver, STORE_DRIVER_NAME, StoredPayloadError } from './payload-store.js';

/** Characters of text the store's read cache keeps (texts over it are read again when asked for). */
const CACHE_CHARS = 64 * 1024 * 1024;

/** Message texts and transcripts by their hash, encoded like every payload of the goal. */
export class ConversationStore {
  private readonly cache = new Map<string, unknown>();
  private cached = 0;

  constructor(
    private readonly driver: ContentAddressedDriver,
    private readonly codecs: readonly PayloadCodec[] = [],
  ) {}

  /** Where the objects live, for messages. */
  get location(): string {
    return this.driver.objects.location;
  }

  /** Stores a value (a text, a transcript) and returns its hash. */
  async put(value: unknown): Promise<string> {
    let payload = defaultPayloadConverter.toPayload(value);
    for (const codec of this.codecs) [payload] = (await codec.encode([payload])) as [Payload];
    const [claim] = await this.driver.store({}, [payload]);
    const hash = claim?.claimData.sha256;
    if (!hash) throw new StoredPayloadError(`the conversation store in ${this.location} returned no hash`);
    this.remember(hash, value);
    return hash;
  }

  /** The value stored under `hash`, checked against it. */
  async get<T>(hash: string): Promise<T> {
    if (this.cache.has(hash)) return this.cache.get(hash) as T;
    let payload = await this.driver.read(hash);
    for (const codec of [...this.codecs].reverse()) [payload] = (await codec.decode([payload])) as [Payload];
    const value = defaultPayloadConverter.fromPayload<T>(payload);
    this.remember(hash, value);
    return value;
  }

  /** Stores the transcript a model call sends; stored texts go by reference, without their previews. */
  async putContext(messages: readonly ChatMessage[]): Promise<ContextRef> {
    const lean = messages.map((m) => ('stored' in m && m.stored ? { ...m, content: '' } : m));
    return { sha256: await this.put(lean), messages: lean.length };
  }

  /** A stored transcript. */
  getContext(ref: ContextRef): Promise<ChatMessage[]> {
    return this.get<ChatMessage[]>(ref.sha256);
  }

  private remember(hash: string, value: unknown): void {
    const size = typeof value === 'string' ? value.length : JSON.stringify(value).length;
    if (size > CACHE_CHARS / 4 || this.cache.has(hash)) return;
    this.cache.set(hash, value);
    this.cached += size;
    for (const [key, v] of this.cache) {
      if (this.cached <= CACHE_CHARS) break;
      this.cache.delete(key);
      this.cached -= typeof v === 'string' ? v.length : JSON.stringify(v).length;
    }
  }
}

/** The conversation store over a data converter's payload store and codecs; undefined when it has no store. */
export function conversationStoreFrom(
  converter: Pick<DataConverter, 'externalStorage' | 'payloadCodecs'> | undefined,
): ConversationStore | undefined {
  const driver = converter?.externalStorage?.getDriver(STORE_DRIVER_NAME);
  if (!(driver instanceof ContentAddressedDriver)) return undefined;
  return new ConversationStore(driver, converter?.payloadCodecs ?? []);
}
