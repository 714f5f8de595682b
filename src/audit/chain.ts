/**
 * The hash chain of an exported audit trail. Each record carries the sha256 of the record before it (`prev`) and
 * its own (`hash`, over its canonical JSON without `hash`); the last record seals the count. Editing, dropping,
 * inserting or reordering any record breaks the chain at that record. The export is a pure function of the
 * history, so exporting again from Temporal gives the same head hash: the head is what to keep elsewhere to
 * detect a file whose whole chain was recomputed.
 */
import { createHash } from 'node:crypto';
import { AuditKind, canonicalJson, type AuditEntry, type TrailFacts } from './entry.js';
import type { TrailSignature } from './signature.js';

/** Format version, part of every hash. */
export const AUDIT_VERSION = 'baton-audit/v1' as const;

/** An exported record: an {@link AuditEntry} in its place in the chain. */
export interface AuditRecord extends AuditEntry {
  v: typeof AUDIT_VERSION;
  goalId: string;
  /** 1-based position in the trail. */
  seq: number;
  /** `hash` of the previous record; for the first, the sha256 of `baton-audit/v1:<goalId>`. */
  prev: string;
  hash: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The `prev` of a goal's first record. */
export function genesis(goalId: string): string {
  return sha256(`${AUDIT_VERSION}:${goalId}`);
}

/** The hash a record must carry. */
export function recordHash(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  return sha256(canonicalJson({ ...record, hash: undefined }));
}

/** Chains entries into records and appends the seal (`audit.sealed`) that states how many came before it. */
export function sealTrail(entries: AuditEntry[], facts: TrailFacts): AuditRecord[] {
  const records: AuditRecord[] = [];
  let prev = genesis(facts.goalId);
  const last = entries.at(-1);
  const seal: AuditEntry = {
    kind: AuditKind.Sealed,
    at: last?.at ?? '',
    actor: 'baton',
    summary: `${entries.length} records from ${facts.runs.length} run(s); goal ${facts.status}${facts.closed ? '' : ' (still running: the trail may grow)'}`,
    run: last?.run ?? 1,
    runId: last?.runId ?? facts.runs[0] ?? '',
    eventId: last?.eventId ?? 0,
    events: [],
    data: { records: entries.length, runs: facts.runs, status: facts.status, complete: facts.closed },
  };
  for (const entry of [...entries, seal]) {
    const body = { v: AUDIT_VERSION, goalId: facts.goalId, seq: records.length + 1, ...entry, prev };
    const record: AuditRecord = { ...body, hash: recordHash(body) };
    records.push(record);
    prev = record.hash;
  }
  return records;
}

/** The outcome of checking an exported trail. */
export type VerifyResult =
  | {
      ok: true;
      records: number;
      goalId: string;
      head: string;
      complete: boolean;
      signature?: TrailSignature;
      signatureChecked?: boolean;
    }
  | { ok: false; record: number; line: number; problem: string };

/** Checks a JSON Lines export: every record parses, hashes to its `hash`, follows its `prev`, in order, sealed. */
export function verifyJsonl(text: string): VerifyResult {
  const lines = text.split('\n');
  const fail = (record: number, line: number, problem: string): VerifyResult => ({ ok: false, record, line, problem });
  let prev: string | undefined;
  let goalId: string | undefined;
  let count = 0;
  let sealed: AuditRecord | undefined;
  let signature: TrailSignature | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    // One signature line may follow the seal (signature.ts); it is checked against a key by the caller.
    if (sealed && !signature && isSignatureLine(line)) {
      signature = JSON.parse(line) as TrailSignature;
      continue;
    }
    count += 1;
    if (sealed)
      return fail(count, i + 1, `record ${count} comes after the seal (record ${sealed.seq}): records were appended`);
    let record: AuditRecord;
    try {
      record = JSON.parse(line) as AuditRecord;
    } catch (err) {
      return fail(count, i + 1, `record ${count} is not valid JSON (${(err as Error).message})`);
    }
    if (!record || typeof record !== 'object' || typeof record.hash !== 'string') {
      return fail(count, i + 1, `record ${count} is not an audit record (no hash)`);
    }
    if ((record.v as string) !== AUDIT_VERSION) {
      return fail(count, i + 1, `record ${count} has version ${JSON.stringify(record.v)}, expected ${AUDIT_VERSION}`);
    }
    goalId ??= record.goalId;
    prev ??= genesis(goalId);
    if (recordHash(record) !== record.hash) {
      return fail(
        count,
        i + 1,
        `record ${count} (${record.kind}, seq ${record.seq}) was edited: its content does not match its hash`,
      );
    }
    if (record.goalId !== goalId) {
      return fail(count, i + 1, `record ${count} belongs to goal ${record.goalId}, not ${goalId}`);
    }
    if (record.seq !== count) {
      return fail(
        count,
        i + 1,
        `record ${count} carries seq ${record.seq}: records were ${record.seq > count ? 'dropped' : 'inserted or reordered'} before it`,
      );
    }
    if (record.prev !== prev) {
      return fail(
        count,
        i + 1,
        `record ${count} (${record.kind}) does not follow record ${count - 1}: the chain is broken there`,
      );
    }
    prev = record.hash;
    if (record.kind === AuditKind.Sealed) sealed = record;
  }
  if (count === 0) return fail(0, 0, 'the file holds no records');
  if (!sealed)
    return fail(
      count,
      lines.length,
      `the file ends at record ${count} without its seal: records were dropped from the end`,
    );
  if (sealed.data.records !== count - 1) {
    return fail(
      count,
      lines.length,
      `the seal counts ${String(sealed.data.records)} records, the file has ${count - 1}`,
    );
  }
  return {
    ok: true,
    records: count,
    goalId: goalId ?? '',
    head: prev ?? '',
    complete: sealed.data.complete === true,
    ...(signature ? { signature } : {}),
  };
}

function isSignatureLine(line: string): boolean {
  try {
    return (JSON.parse(line) as { kind?: unknown }).kind === 'audit.signature';
  } catch {
    return false;
  }
}
