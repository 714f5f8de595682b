/** The audit of one goal, read from Temporal: what `baton audit` and `baton watch` show. */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { sealTrail, type AuditRecord } from './chain.js';
import { fetchGoal, type RunCache, type RunHistory } from './history.js';
import { streamingCalls, withStreaming, type StreamingCall } from './streaming.js';
import type { AuditEntry, TrailFacts } from './entry.js';
import { buildTrail } from './trail.js';

/** A goal's trail: the entries as derived, the sealed records as exported, and the facts about the goal. */
export interface GoalAudit {
  entries: AuditEntry[];
  records: AuditRecord[];
  facts: TrailFacts;
  /** Temporal's description of the latest run, when the trail was read from Temporal (its pending activities). */
  description?: WorkflowExecutionDescription;
  /** The model calls streaming a reply as the trail was read (their entries say how far they have come). */
  streaming?: StreamingCall[];
}

/** Builds the sealed trail of a goal from its runs; `streaming` marks the open model calls with their progress. */
export function auditFromRuns(goalId: string, runs: RunHistory[], streaming: StreamingCall[] = []): GoalAudit {
  const { entries, facts } = buildTrail(goalId, runs);
  const latest = runs.at(-1)?.runId;
  if (!facts.closed && latest) withStreaming(entries, streaming, latest);
  return { entries, facts, records: sealTrail(entries, facts) };
}

/** Reads every run of a goal from Temporal and builds its trail, with the progress of replies streaming now. */
export async function auditGoal(client: Client, goalId: string, cache?: RunCache): Promise<GoalAudit> {
  const { runs, description } = await fetchGoal(client, goalId, cache);
  const streaming = await streamingCalls(client, description);
  return { ...auditFromRuns(goalId, runs, streaming), description, streaming };
}

export { AuditError, type RunCache } from './history.js';
export { describeStreaming, type StreamingCall } from './streaming.js';
export { verifyJsonl, type AuditRecord, type VerifyResult } from './chain.js';
export { AuditKind, type AuditEntry, type TrailFacts } from './entry.js';
