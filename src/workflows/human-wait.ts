/**
 * Waiting on humans, for questions (`ask_human`): opening one, the single check of a reply (who may answer, and
 * why a reply is refused: `replyRefusalReason`, where assertion verification plugs in), taking the answer, and the
 * timeout. Approvals share the same shape in approval-wait.ts (the approval desk); both keep their waits out of the
 * working-time budget through `EngineContext.waitingOnHumans`.
 */
import { ApplicationFailure, condition, patched, setHandler } from '@temporalio/workflow';
import { resolveApprovers } from './approvals.js';
import { replySignal, replyUpdate, type GoalRecord, type HumanReply, type QuestionRecord } from './definitions.js';
import { durationMs } from './durations.js';
import type { CallOutcome, EngineContext } from './engine-context.js';
import { keepLatest, keptText } from '../identity/authorize.js';
import { recordFact } from './facts.js';
import { voteIdentity, type IdentityGate } from './identity-gate.js';
import { Patch } from './patches.js';
import { pendingReplyRefusal, replyRefusalReason } from './questions.js';

/** ask_human: opens a question, waits for a `reply` (or the timeout), and tells the model the answer. */
export async function askHuman(
  ctx: EngineContext,
  actor: string,
  question: string,
  callId?: string,
): Promise<CallOutcome> {
  const settings = ctx.bp.agents[actor]?.askHuman;
  if (!settings) return { output: 'error: this agent has no askHuman settings', repair: false };
  const asked = Date.now();
  const timeoutMs = settings.timeout === undefined ? undefined : durationMs(settings.timeout);
  const q: QuestionRecord = {
    id: `q-${ctx.r.questions.length + 1}`,
    agent: actor,
    step: ctx.r.step,
    question,
    to: [...settings.to],
    eligible: resolveApprovers(settings.to, ctx.bp.approvers),
    status: 'pending',
    askedAt: new Date(asked).toISOString(),
    ...(timeoutMs === undefined ? {} : { deadline: new Date(asked + timeoutMs).toISOString() }),
  };
  ctx.r.questions.push(q);
  ctx.humansChanged();
  recordFact({
    fact: 'question.asked',
    questionId: q.id,
    ...(callId ? { callId } : {}),
    agent: actor,
    question,
    eligible: q.eligible,
    ...(q.deadline ? { deadline: q.deadline } : {}),
  });
  const answered = await ctx.waitingOnHumans(async () => {
    const settled = () => q.status !== 'pending';
    if (timeoutMs === undefined) {
      await condition(settled);
      return true;
    }
    // The Web UI shows the timer's summary: without one it reads as the timer's sequence number.
    if (!patched(Patch.questionTimerSummary)) return condition(settled, timeoutMs);
    return condition(settled, timeoutMs, {
      summary: `${q.id}: answer from ${q.eligible.join(', ')} due in ${settings.timeout}`,
    });
  });
  if (!answered) {
    q.status = 'timed_out';
    recordFact({ fact: 'question.settled', questionId: q.id, status: 'timed_out' });
  }
  ctx.humansChanged();
  const detail = { questionId: q.id, status: q.status, by: q.by ?? null };
  return answered
    ? { output: `answer from ${q.by ?? 'a human'} to ${q.id}: ${q.answer ?? ''}`, repair: false, detail }
    : {
        output: `no answer to ${q.id} from ${q.eligible.join(', ')} within ${settings.timeout}; go on without it and say what is unconfirmed`,
        repair: false,
        detail,
      };
}

type Judged =
  | { ok: true; q: QuestionRecord; by: string; identity?: QuestionRecord['identity'] }
  | { ok: false; reason: string; code?: string };

/**
 * Judges a reply without changing anything (the update validator's view): by name on goals recorded before verified
 * identity, else by its signed assertion (src/identity/decisions.ts).
 */
export function judgeReply(r: GoalRecord, gate: IdentityGate, reply: HumanReply): Judged {
  const reason = gate.active ? pendingReplyRefusal(r.questions, reply) : replyRefusalReason(r.questions, reply);
  const q = r.questions.find((x) => x.id === reply?.questionId);
  if (reason !== undefined || !q) return { ok: false, reason: reason ?? 'reply refused', code: 'invalid' };
  if (!gate.active) return { ok: true, q, by: reply.by! };
  const checked = gate.checkReply(q, reply);
  if (!checked.ok) return { ok: false, reason: checked.reason, code: checked.code };
  return { ok: true, q, by: checked.identity.subject, identity: voteIdentity(checked.identity) };
}

/** Records a human's answer to a question, or the refusal of an invalid one (the latest few kept, all counted). */
export function answerQuestion(
  r: GoalRecord,
  gate: IdentityGate,
  reply: HumanReply,
  via: 'signal' | 'update',
): QuestionRecord | undefined {
  const at = new Date().toISOString();
  const verdict = judgeReply(r, gate, reply);
  gate.recordVerdict({ on: 'question', targetId: String(reply?.questionId), via, claimed: reply?.by }, verdict);
  if (!verdict.ok) {
    keepLatest(r.refusedReplies, {
      questionId: keptText(reply?.questionId),
      by: keptText(reply?.by ?? '(none given)'),
      reason: keptText(verdict.reason),
      ...(verdict.code ? { code: verdict.code } : {}),
      at,
      via,
    });
    r.refusedReplyCount = (r.refusedReplyCount ?? 0) + 1;
    return undefined;
  }
  const { q } = verdict;
  Object.assign(q, {
    status: 'answered',
    answer: reply.answer,
    by: verdict.by,
    ...(verdict.identity ? { identity: verdict.identity } : {}),
    answeredAt: at,
    via,
  });
  recordFact({
    fact: 'question.settled',
    questionId: q.id,
    status: 'answered',
    by: verdict.by,
    via,
    answer: reply.answer,
  });
  return q;
}

/** Installs the `reply` signal and update: the update's validator refuses a reply with the reason, at once. */
export function installReplyHandlers(ctx: Pick<EngineContext, 'r' | 'publish'> & { gate: IdentityGate }): void {
  // A reply that carries an assertion is judged against the operator's trust as read within the last minute (recorded).
  const fresh = (reply: HumanReply): boolean => ctx.gate.active && typeof reply?.assertion === 'string';
  setHandler(replySignal, async (reply) => {
    if (fresh(reply)) await ctx.gate.refreshIfStale();
    answerQuestion(ctx.r, ctx.gate, reply, 'signal');
    ctx.publish();
  });
  setHandler(
    replyUpdate,
    async (reply) => {
      if (fresh(reply)) await ctx.gate.refreshIfStale();
      const q = answerQuestion(ctx.r, ctx.gate, reply, 'update');
      if (!q) throw ApplicationFailure.nonRetryable(ctx.r.refusedReplies.at(-1)?.reason ?? 'reply refused');
      ctx.publish();
      return q;
    },
    {
      validator: (reply: HumanReply) => {
        const verdict = judgeReply(ctx.r, ctx.gate, reply);
        if (!verdict.ok) throw new Error(verdict.reason);
      },
    },
  );
}
