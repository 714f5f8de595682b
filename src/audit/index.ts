/** The audit of one goal, read from Temporal: what `baton audit` and `baton watch` show. */
import type { Client } from '@temporalio/client';
import { sealTrail, type AuditRecord } from './chain.js';
import { fetchRunChain, type RunCache, type RunHistory } from './history.js';
import type { AuditEntry, TrailFacts } from './entry.js';
import { buildTrail } from './trail.js';

/** A goal's trail: the entries as derived, the sealed records as exported, and the facts about the goal. */
export interface GoalAudit {
  entries: AuditEntry[];
  records: AuditRecord[];
  facts: TrailFacts;
}

/** Builds the sealed trail of a goal from its runs. */
export function auditFromRuns(goalId: string, runs: RunHistory[]): GoalAudit {
  const { entries, facts } = buildTrail(goalId, runs);
  return { entries, facts, records: sealTrail(entries, facts) };
}

/** Reads every run of a goal from Temporal and builds its trail. */
export async function auditGoal(client: Client, goalId: string, cache?: RunCache): Promise<GoalAudit> {
  return auditFromRuns(goalId, await fetchRunChain(client, goalId, cache));
}

export { AuditError, type RunCache } from './history.js';
export { verifyJsonl, type AuditRecord, type VerifyResult } from './chain.js';
export { AuditKind, type AuditEntry, type TrailFacts } from './entry.js';
