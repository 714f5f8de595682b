/**
 * The goal's identity gate: the operator's trust, recorded through the `loadTrust` local activity at start and at
 * each wake; the blueprint's registration, checked by the hash the workflow computes itself; the verified starter;
 * and the checks every human act passes before it counts (src/identity/decisions.ts). Goals recorded before
 * verified identity (no `verified-identity` patch) keep deciding by name, as they ran.
 */
import { ApplicationFailure, patched, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  blueprintHashOf,
  checkBlueprint,
  checkDecision,
  checkReply,
  checkStart,
  type Checked,
  type GoalContext,
} from '../identity/decisions.js';
import { decodeAssertion } from '../identity/assertion.js';
import { emptyTrust, type TrustSnapshot } from '../identity/trust.js';
import type { VerifiedIdentity } from '../identity/verify.js';
import { GoalFailure } from '../failures.js';
import type {
  ApprovalDecision,
  ApprovalRecord,
  GoalArgs,
  GoalRecord,
  HumanReply,
  QuestionRecord,
  StarterRecord,
  VoteIdentity,
} from './definitions.js';
import { Patch } from './patches.js';

const { loadTrust } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });

/** The identity facts a vote or an answer keeps. */
export function voteIdentity(id: VerifiedIdentity): VoteIdentity {
  return { verified: true, issuer: id.issuer, keyId: id.keyId, assertionId: id.assertionId, groups: id.groups };
}

/** The gate of one goal run. */
export class IdentityGate {
  /** False for goals recorded before verified identity: they decide by name, as they ran. */
  readonly active: boolean;
  private trust: TrustSnapshot = emptyTrust();

  constructor(
    private readonly args: GoalArgs,
    private readonly r: GoalRecord,
  ) {
    this.active = patched(Patch.verifiedIdentity);
  }

  /** Who started the goal, verified or labelled. */
  get starter(): StarterRecord {
    return this.r.starter ?? { subject: this.args.startedBy, verified: false };
  }

  /** Reads the operator's trust now (recorded in history, so a replay sees what this run saw). */
  async refresh(): Promise<void> {
    if (this.active) this.trust = await loadTrust();
  }

  /**
   * At the start of a run: loads trust, refuses an unregistered blueprint and an unauthenticated start (unless the
   * operator allows ad hoc blueprints), and records the verified starter. A continued run keeps its first run's
   * verdict.
   */
  async open(): Promise<void> {
    if (!this.active) return;
    await this.refresh();
    const bp = this.args.blueprint;
    const hash = blueprintHashOf(bp);
    const standing = checkBlueprint(this.trust, bp.name, hash);
    if (!standing.ok) throw ApplicationFailure.nonRetryable(standing.reason, GoalFailure.Blueprint);
    if (this.r.starter) return;
    const info = workflowInfo();
    const claims = decodeAssertion(this.args.startAssertion);
    const root = typeof claims === 'string' ? info.workflowId : claims.claims.goal;
    // A delegated task carries its root goal's start: its id descends from that goal's id.
    const goalId = this.args.task && info.workflowId.startsWith(`${root}--`) ? root : info.workflowId;
    const start = checkStart(
      { goalId, trust: this.trust, nowMs: Date.now(), seen: () => false },
      {
        assertion: this.args.startAssertion,
        blueprintName: bp.name,
        computedHash: hash,
        input: this.args.input,
        claimedBy: this.args.startedBy,
      },
    );
    if ('refused' in start) throw ApplicationFailure.nonRetryable(start.refused, GoalFailure.Blueprint);
    const blueprint =
      'registered' in standing ? `${standing.registered.name}@${standing.registered.version}` : 'ad hoc';
    this.r.starter = start.verified
      ? { subject: start.identity.subject, ...voteIdentity(start.identity), blueprint }
      : { subject: start.claimed, verified: false, reason: start.reason, blueprint };
  }

  private context(): GoalContext {
    const seen = new Set<string>();
    for (const a of this.r.approvals) for (const v of a.votes) if (v.identity) seen.add(v.identity.assertionId);
    for (const q of this.r.questions) if (q.identity) seen.add(q.identity.assertionId);
    return {
      goalId: workflowInfo().workflowId,
      firstRunId: workflowInfo().firstExecutionRunId,
      startedBy: this.starter.subject,
      blueprintGroups: this.args.blueprint.approvers,
      trust: this.trust,
      nowMs: Date.now(),
      seen: (id) => seen.has(id),
    };
  }

  /** Checks a vote on a pending approval. */
  checkDecision(record: ApprovalRecord, d: ApprovalDecision): Checked {
    return checkDecision(this.context(), record, d, record.selfApproval);
  }

  /** Checks an answer to a pending question. */
  checkReply(q: QuestionRecord, r: HumanReply): Checked {
    return checkReply(this.context(), q, r);
  }
}
