/**
 * Waiting on humans, for questions (`ask_human`): opening one, the single check of a reply (who may answer, and
 * why a reply is refused: `replyRefusalReason`, where assertion verification plugs in), taking the answer, and the
 * timeout. Approvals share the same shape in approval-wait.ts (the approval desk); both keep their waits out of the
 * working-time budget through `EngineContext.waitingOnHumans`.
 */
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { GoalFailure } from '../failures.js';
import { resolveApprovers } from './approvals.js';
import { replySignal, replyUpdate, type GoalRecord, type HumanReply, type QuestionRecord } from './definitions.js';
import { durationMs } from './durations.js';
import type { CallOutcome, EngineContext } from './engine-context.js';
import { keepLatest, keptText } from '../identity/authorize.js';
import { recordFact } from './facts.js';
import { voteIdentity, type IdentityGate } from './identity-gate.js';
import { changed, Patch } from './patches.js';
import { pendingReplyRefusal, replyRefusalReason } from './questions.js';
import { WaitMovesOn } from './wait-runs.js';

/**
 * ask_human: opens a question, waits for a `reply` (or the timeout), and tells the model the answer. The engine asks
 * the same people the same way about a refusal of the agent's model (`about: 'refusal'`, onRefusal: ask).
 */
export async function askHuman(
  ctx: EngineContext,
  actor: string,
  question: string,
  callId?: string,
  about?: 'refusal',
): Promise<CallOutcome> {
  const settings = ctx.bp.agents[actor]?.askHuman;
  if (!settings) return { output: 'error: this agent has no askHuman settings', repair: false };
  // Answers are judged against the trust and the verified starter: a run that takes up a question concludes its
  // opening first (it has made no model call yet).
  await ctx.desk.gate.ensureOpen();
  const adopted = ctx.r.questions.find((x) => x.status === 'pending' && x.agent === actor && x.question === question);
  const q = adopted ?? openQuestion(ctx, actor, question, settings, callId, about);
  const bounded = adopted !== undefined || changed(Patch.boundedHumanWaits);
  const answered = await ctx.waitingOnHumans(() =>
    bounded ? boundedWait(ctx, q, settings.timeout) : unboundedWait(q, settings.timeout),
  );
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

/** Opens a question: recorded, published, and its fact in history. */
function openQuestion(
  ctx: EngineContext,
  actor: string,
  question: string,
  settings: { to: string[]; timeout?: string },
  callId: string | undefined,
  about: 'refusal' | undefined,
): QuestionRecord {
  const asked = Date.now();
  const timeoutMs = settings.timeout === undefined ? undefined : durationMs(settings.timeout);
  const q: QuestionRecord = {
    id: `q-${ctx.r.questions.length + 1}`,
    agent: actor,
    step: ctx.r.step,
    question,
    ...(about ? { about } : {}),
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
    ...(about ? { about } : {}),
    agent: actor,
    question,
    eligible: q.eligible,
    ...(q.deadline ? { deadline: q.deadline } : {}),
  });
  return q;
}

/** Waits for an answer or the timeout, in one run (goals started before bounded waits). */
async function unboundedWait(q: QuestionRecord, timeout: string | undefined): Promise<boolean> {
  const settled = () => q.status !== 'pending';
  if (timeout === undefined) {
    await condition(settled);
    return true;
  }
  // The Web UI shows the timer's summary: without one it reads as the timer's sequence number.
  if (!changed(Patch.questionTimerSummary)) return condition(settled, durationMs(timeout));
  return condition(settled, durationMs(timeout), {
    summary: `${q.id}: answer from ${q.eligible.join(', ')} due in ${timeout}`,
  });
}

/**
 * Waits for an answer until the question's deadline; when the run's history fills first, throws
 * {@link WaitMovesOn} and the next run takes the same question up (wait-runs.ts).
 */
async function boundedWait(ctx: EngineContext, q: QuestionRecord, timeout: string | undefined): Promise<boolean> {
  const settled = () => q.status !== 'pending';
  const wakes = () => settled() || ctx.waitMayMove();
  const deadline = q.deadline === undefined ? undefined : Date.parse(q.deadline);
  for (let first = Date.now() === Date.parse(q.askedAt); ; first = false) {
    if (settled()) return true;
    if (ctx.waitMayMove()) throw new WaitMovesOn(q.id);
    if (deadline === undefined) {
      await condition(wakes);
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) return false;
    const due = first && timeout !== undefined ? `due in ${timeout}` : `due by ${q.deadline}`;
    if (!(await condition(wakes, left, { summary: `${q.id}: answer from ${q.eligible.join(', ')} ${due}` }))) {
      return settled();
    }
  }
}

/**
 * onRefusal: ask. The agent's model refused (or the provider's filter withheld the reply): the agent's askHuman
 * people are asked, and the agent is told the refusal was not taken as an answer, with their answer as guidance.
 * Nobody answering in time fails the goal (`ModelRefused`), as onRefusal: fail would have at once.
 */
export async function askAboutRefusal(
  ctx: EngineContext,
  actor: string,
  ending: { problem: string; instruction: string },
): Promise<void> {
  const timeout = ctx.bp.agents[actor]?.askHuman?.timeout;
  const question =
    `Agent ${actor} could not go on at step ${ctx.r.step}: ${ending.problem}. ` +
    `Your answer goes to the agent as guidance and it carries on` +
    (timeout ? `; without an answer within ${timeout} the goal fails.` : '.');
  const outcome = await askHuman(ctx, actor, question, undefined, 'refusal');
  if (outcome.detail?.status !== 'answered') {
    const asked = typeof outcome.detail?.questionId === 'string' ? outcome.detail.questionId : 'the question';
    ctx.fail(
      `agent ${actor} at step ${ctx.r.step}: ${ending.problem}; nobody answered ${asked} about it${timeout ? ` within ${timeout}` : ''}`,
      GoalFailure.ModelRefused,
    );
  }
  ctx.r.messages.push({ role: 'user', content: `${ending.instruction} A person reviewed it: ${outcome.output}` });
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
