/**
 * The goal's identity gate: the operator's trust, recorded with the goal's first model call (older goals: through
 * the `loadTrust` activity at start) and through `loadTrust` at each wake and before a signed act when it is stale;
 * the blueprint's registration, checked by the hash the workflow computes itself; the verified starter;
 * and the checks every human act passes before it counts (src/identity/decisions.ts). Goals recorded before
 * verified identity (no `verified-identity` patch) keep deciding by name, as they ran.
 */
import { ApplicationFailure, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { blueprintHashOf, checkDecision, checkReply, type Checked, type GoalContext } from '../identity/decisions.js';
import { checkOpening, type Opening, type OpeningCheck } from '../identity/opening.js';
import { decodeAssertion } from '../identity/assertion.js';
import { emptyTrust, TRUST_DEFAULTS, type TrustSnapshot } from '../identity/trust.js';
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
import { changed, Patch } from './patches.js';
import { recordFact, type DecisionFact } from './facts.js';
import { keptText } from '../identity/authorize.js';

// A regular activity, not a local one: a local activity's marker, awaited inside a signal or update handler while
// the main loop goes on, replays in a different order than it ran next to later patch markers (core reported
// "non-deprecated patch marker ... no corresponding change command" on queries of evicted goals).
const trustOptions: ActivityOptions = {
  startToCloseTimeout: '10s',
  // A trust file the worker cannot read is the operator's to fix; the goal waits for it rather than failing.
  retry: { initialInterval: '1s', maximumInterval: '1m' },
};
const { loadTrust } = proxyActivities<Activities>(trustOptions);

/** How a human act was judged: accepted as the verified `by`, or refused with the reason. */
export type Verdict = { ok: true; by: string; identity?: VoteIdentity } | { ok: false; reason: string; code?: string };

/** The identity facts a vote or an answer keeps. */
export function voteIdentity(id: VerifiedIdentity): VoteIdentity {
  return { verified: true, issuer: id.issuer, keyId: id.keyId, assertionId: id.assertionId, groups: id.groups };
}

/** The gate of one goal run. */
export class IdentityGate {
  /** False for goals recorded before verified identity: they decide by name, as they ran. */
  readonly active: boolean;
  private trust: TrustSnapshot = emptyTrust();
  /** Workflow time of the last read of the trust. */
  private loadedAt = -Infinity;
  /** The opening check, until the first model call (or a trust read of its own) concludes it. */
  private pendingOpening: OpeningCheck | undefined;

  constructor(
    private readonly args: GoalArgs,
    private readonly r: GoalRecord,
  ) {
    this.active = changed(Patch.verifiedIdentity);
  }

  /**
   * Records how a human act was judged (goals with verified identity only), so the audit reports the workflow's
   * verdict and the identity the assertion proved, never a name the sender typed.
   */
  recordVerdict(act: Pick<DecisionFact, 'on' | 'targetId' | 'via'> & { claimed: unknown }, verdict: Verdict): void {
    if (!this.active) return;
    const base = {
      fact: 'decision',
      ...act,
      targetId: keptText(act.targetId),
      claimed: keptText(act.claimed ?? '(none given)'),
    } as const;
    if (!verdict.ok) {
      recordFact({
        ...base,
        outcome: 'refused',
        reason: keptText(verdict.reason),
        ...(verdict.code ? { code: verdict.code } : {}),
      });
      return;
    }
    const id = verdict.identity;
    recordFact({
      ...base,
      outcome: 'accepted',
      ...(id
        ? {
            verified: {
              subject: verdict.by,
              issuer: id.issuer,
              keyId: id.keyId,
              assertionId: id.assertionId,
              groups: id.groups,
            },
          }
        : {}),
    });
  }

  /** Who started the goal, verified or labelled. */
  get starter(): StarterRecord {
    return this.r.starter ?? { subject: this.args.startedBy, verified: false };
  }

  /** Reads the operator's trust now (recorded in history, so a replay sees what this run saw). */
  async refresh(): Promise<void> {
    if (!this.active) return;
    this.trust = await loadTrust.executeWithOptions({ ...trustOptions, summary: 'operator trust' }, []);
    this.loadedAt = Date.now();
  }

  /**
   * Before a signed act is judged: reads the trust again unless it was read within the operator's `refreshSeconds`
   * (trust file, default 60) of workflow time, so a revocation counts within that time while a decision made right
   * after the approval opened (or right after another one) does not wait for an activity.
   */
  async refreshIfStale(): Promise<void> {
    const freshMs = (this.trust.refreshSeconds ?? TRUST_DEFAULTS.refreshSeconds) * 1000;
    if (this.active && Date.now() - this.loadedAt >= freshMs) await this.refresh();
  }

  /**
   * At the start of a run: the opening check (the blueprint registered, or ad hoc where the operator allows it; the
   * start authenticated; src/identity/opening.ts). Goals with `trust-with-first-model-call` leave it to their first
   * model call, which reads the trust and checks the opening before it calls the model ({@link opening},
   * {@link accept}): no activity of its own before the model is called. Older goals read the trust first, as they
   * ran. A continued run keeps its first run's starter and checks the blueprint again.
   */
  async open(): Promise<void> {
    if (!this.active) return;
    if (changed(Patch.trustWithFirstModelCall)) {
      this.pendingOpening = this.openingCheck();
      return;
    }
    await this.refresh();
    this.conclude(this.openingCheck());
  }

  /** The opening check the next model call carries, until the goal's opening is concluded. */
  get opening(): OpeningCheck | undefined {
    return this.pendingOpening;
  }

  /**
   * Before anything other than the first model call leaves the workflow (MCP discovery, an approval opened before
   * the model was called, a reply that came back without the trust): the opening is concluded on a trust read of
   * its own first.
   */
  async ensureOpen(): Promise<void> {
    const check = this.pendingOpening;
    if (!check) return;
    await this.refresh();
    this.conclude(check);
  }

  /**
   * The first model call read the trust and found the opening sound (else it failed without calling the model):
   * the workflow records that trust and the call's verdict, both in the call's recorded reply. The verdict is the
   * one {@link checkOpening} gives on the same check and trust (the same function, in the worker that runs this
   * workflow), so a replay reaches it from the history without verifying the signature again; a reply recorded
   * before it carried the verdict has the workflow reach it itself.
   */
  accept(trust: TrustSnapshot, verdict?: Extract<Opening, { ok: true }>): void {
    const check = this.pendingOpening;
    if (!check) return;
    this.trust = trust;
    // The call read the trust after it was asked for: counting its age from then errs towards reading it again.
    this.loadedAt = Math.max(this.loadedAt, check.nowMs);
    this.conclude(check, verdict);
  }

  /** What the opening check needs, as this task sees it. */
  private openingCheck(): OpeningCheck {
    const bp = this.args.blueprint;
    const info = workflowInfo();
    const claims = decodeAssertion(this.args.startAssertion);
    const root = typeof claims === 'string' ? info.workflowId : claims.claims.goal;
    // A delegated task carries its root goal's start: its id descends from that goal's id.
    const goalId = this.args.task && info.workflowId.startsWith(`${root}--`) ? root : info.workflowId;
    return {
      goalId,
      blueprintName: bp.name,
      blueprintHash: blueprintHashOf(bp),
      nowMs: Date.now(),
      ...(this.r.starter
        ? {}
        : {
            start: { assertion: this.args.startAssertion, input: this.args.input, claimedBy: this.args.startedBy },
          }),
    };
  }

  /** Refuses an unregistered blueprint or an unauthenticated start; records the verified (or labelled) starter. */
  private conclude(check: OpeningCheck, given?: Extract<Opening, { ok: true }>): void {
    this.pendingOpening = undefined;
    const verdict = given ?? checkOpening(this.trust, check);
    if (!verdict.ok) throw ApplicationFailure.nonRetryable(verdict.reason, GoalFailure.Blueprint);
    const { standing, start } = verdict;
    if (!start) return;
    const blueprint =
      'registered' in standing ? `${standing.registered.name}@${standing.registered.version}` : 'ad hoc';
    this.r.starter = start.verified
      ? { subject: start.identity.subject, ...voteIdentity(start.identity), blueprint }
      : { subject: start.claimed, verified: false, reason: start.reason, blueprint };
    const s = this.r.starter;
    recordFact({
      fact: 'starter',
      subject: keptText(s.subject),
      verified: s.verified,
      ...(s.verified ? { issuer: s.issuer, keyId: s.keyId, assertionId: s.assertionId } : {}),
      ...(!s.verified && s.reason ? { reason: keptText(s.reason) } : {}),
      blueprint,
    });
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
