/**
 * The workflow's checks of a human act, from verified identity only: a vote on an approval, an answer to a
 * question, the start of a goal, and the blueprint it runs. Pure and deterministic (workflow time comes in as
 * `nowMs`), so the `decide` / `reply` validators, the signal handlers and a replay all reach the same verdict.
 */
import { derived } from '../blueprint/derived-cache.js';
import type { ApprovalRecord, QuestionRecord } from '../workflows/definitions.js';
import { approvalRequestHash, decodeAssertion, questionRequestHash, startRequestHash } from './assertion.js';
import { actorMatches, selfApprovalRefusal, type SelfApproval } from './authorize.js';
import { canonicalJson, sha256Hex } from './encoding.js';
import { registeredBlueprint, type RegisteredBlueprint, type TrustSnapshot } from './trust.js';
import { verify, type RefusalCode, type VerifiedIdentity } from './verify.js';

/** What a goal knows when it checks an act. */
export interface GoalContext {
  goalId: string;
  /** `workflowInfo().firstExecutionRunId`: assertions are bound to it, so they survive continue-as-new. */
  firstRunId: string;
  /** The verified starter (subject), for separation of duties. */
  startedBy: string;
  /** The registered blueprint's own `approvers:` groups. */
  blueprintGroups: Readonly<Record<string, readonly string[]>>;
  trust: TrustSnapshot;
  nowMs: number;
  /** True for an assertion id this goal has already accepted. */
  seen: (assertionId: string) => boolean;
}

/** Why an act was refused, beyond the assertion's own verdict. */
export type ActRefusal = RefusalCode | 'not_an_approver' | 'self_approval' | 'already_voted' | 'unregistered_blueprint';

/** The verdict on an act. */
export type Checked = { ok: true; identity: VerifiedIdentity } | { ok: false; code: ActRefusal; reason: string };

/** Checks a vote on a pending approval: a valid assertion for exactly this request, by an approver, not self. */
export function checkDecision(
  ctx: GoalContext,
  record: Pick<ApprovalRecord, 'id' | 'tool' | 'args' | 'approvers' | 'votes'>,
  payload: { decision: 'approve' | 'reject'; comment?: string; assertion?: unknown },
  selfApproval: SelfApproval | undefined,
): Checked {
  const v = verify(
    payload.assertion,
    {
      kind: 'decision',
      goal: ctx.goalId,
      run: ctx.firstRunId,
      target: record.id,
      request: approvalRequestHash(record),
      decision: payload.decision,
      ...(payload.comment ? { comment: payload.comment } : {}),
    },
    ctx.trust,
    ctx.nowMs,
    ctx.seen,
  );
  if (!v.ok) return { ok: false, code: v.code, reason: v.reason };
  const who = v.identity;
  if (!actorMatches(record.approvers, ctx.blueprintGroups, who)) {
    return {
      ok: false,
      code: 'not_an_approver',
      reason: `${who.subject} (groups: ${who.groups.join(', ') || 'none'}) may not decide ${record.id}; approvers now: ${record.approvers.join(', ')}`,
    };
  }
  const self = selfApprovalRefusal(selfApproval, ctx.startedBy, who.subject, payload.decision);
  if (self) return { ok: false, code: 'self_approval', reason: self };
  if (record.votes.some((vote) => vote.by === who.subject)) {
    return {
      ok: false,
      code: 'already_voted',
      reason: `${who.subject} has already voted on ${record.id}; a quorum counts distinct people`,
    };
  }
  return { ok: true, identity: who };
}

/** Checks an answer to a pending question: a valid assertion for this question and answer, by someone asked. */
export function checkReply(
  ctx: GoalContext,
  question: Pick<QuestionRecord, 'id' | 'question' | 'to'>,
  payload: { answer: string; assertion?: unknown },
): Checked {
  const v = verify(
    payload.assertion,
    {
      kind: 'reply',
      goal: ctx.goalId,
      run: ctx.firstRunId,
      target: question.id,
      request: questionRequestHash(question),
      answer: payload.answer,
    },
    ctx.trust,
    ctx.nowMs,
    ctx.seen,
  );
  if (!v.ok) return { ok: false, code: v.code, reason: v.reason };
  if (!actorMatches(question.to, ctx.blueprintGroups, v.identity)) {
    return {
      ok: false,
      code: 'not_an_approver',
      reason: `${v.identity.subject} was not asked ${question.id}; asked: ${question.to.join(', ')}`,
    };
  }
  return { ok: true, identity: v.identity };
}

/**
 * sha256 of a blueprint as the workflow received it: the same value `hashBlueprint` pins. Kept per worker thread by
 * the blueprint's JSON (derived-cache.ts): every goal of a blueprint hashed the same text in its first task, and
 * JSON.stringify is a fraction of sha256 in JavaScript (issue 16). A key that lists fields in another order only
 * misses the cache; the hash is of the canonical form either way.
 */
export function blueprintHashOf(blueprint: unknown): string {
  return derived('blueprint-sha256', JSON.stringify(blueprint), () => sha256Hex(canonicalJson(blueprint)));
}

/** The blueprint's standing: registered (with name and version), ad hoc where the operator allows it, or refused. */
export type BlueprintStanding =
  | { ok: true; registered: RegisteredBlueprint }
  | { ok: true; adHoc: true }
  | { ok: false; code: 'unregistered_blueprint'; reason: string };

/** Checks the blueprint a goal runs against the registry, by the hash the workflow computed itself. */
export function checkBlueprint(trust: TrustSnapshot, name: string, computedHash: string): BlueprintStanding {
  const registered = registeredBlueprint(trust, computedHash);
  if (registered) return { ok: true, registered };
  if (trust.allowAdHocBlueprints) return { ok: true, adHoc: true };
  const known = trust.blueprints
    .filter((b) => b.name === name)
    .map((b) => `${b.name}@${b.version} (${b.sha256.slice(0, 12)})`);
  return {
    ok: false,
    code: 'unregistered_blueprint',
    reason: `blueprint ${name} with sha256 ${computedHash} is not registered on the workers${known.length ? `; registered versions: ${known.join(', ')}` : ''}: an operator registers it with \`baton register\``,
  };
}

/** Who started a goal: verified from the start assertion, or, where ad hoc starts are allowed, a labelled claim. */
export type StartIdentity =
  { verified: true; identity: VerifiedIdentity; target: string } | { verified: false; claimed: string; reason: string };

/**
 * Checks a start: the assertion must name this goal and this exact blueprint hash and input. Without a valid one the
 * start is refused, unless ad hoc blueprints are allowed (`baton dev`), where the claimed starter is kept, labelled.
 */
export function checkStart(
  ctx: Omit<GoalContext, 'startedBy' | 'blueprintGroups' | 'firstRunId'>,
  start: { assertion?: unknown; blueprintName: string; computedHash: string; input: unknown; claimedBy: string },
): StartIdentity | { refused: string } {
  const decoded = decodeAssertion(start.assertion);
  const target = typeof decoded === 'string' ? '' : decoded.claims.target;
  const v = verify(
    start.assertion,
    {
      kind: 'start',
      goal: ctx.goalId,
      run: '',
      target: target.startsWith(`${start.blueprintName}@`) ? target : `${start.blueprintName}@?`,
      request: startRequestHash({ blueprintHash: start.computedHash, input: start.input }),
    },
    ctx.trust,
    ctx.nowMs,
    ctx.seen,
  );
  if (v.ok) return { verified: true, identity: v.identity, target };
  if (ctx.trust.allowAdHocBlueprints) return { verified: false, claimed: start.claimedBy, reason: v.reason };
  return {
    refused:
      v.code === 'missing'
        ? `the start is not authenticated (${v.reason})`
        : `the start is not authenticated (${v.reason}): start goals through \`baton start\` after \`baton login\``,
  };
}
