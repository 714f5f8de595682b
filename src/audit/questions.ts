/**
 * Questions (`ask_human`) in the audit trail: asked, answered by a `reply` signal or update, or timed out. Goals that
 * record facts (src/workflows/facts.ts) say when a question opened and how it settled; for older histories the
 * question is inferred from the goal's status turning to a human wait while an `ask_human` call is outstanding, and
 * a reply's outcome is replayed with the workflow's own rule (`replyRefusalReason`).
 */
import type { AuditFact, DecisionFact } from '../workflows/facts.js';
import { actIdentity } from './identity.js';
import type { HumanReply, QuestionRecord } from '../workflows/definitions.js';
import { replyRefusalReason } from '../workflows/questions.js';
import { AuditKind, clipLine, compact, type Emit, type Located } from './entry.js';
import { decodePayloads } from './history.js';
import type { HistoryIndex } from './history-index.js';
import type { UpdateRequest, UpdateResult } from './messages.js';

type AskedFact = Extract<AuditFact, { fact: 'question.asked' }>;
type SettledFact = Extract<AuditFact, { fact: 'question.settled' }>;

/** How a reply reached the goal, as history records it. */
interface ReplyEvent {
  via: 'signal' | 'update';
  reply: HumanReply;
  identity: string | null;
  /** For an update: how it ended, as far as history has it. */
  result?: UpdateResult;
  updateId?: string | null;
  /** For a signal: the fact the workflow recorded when it took the reply, when the history has facts. */
  settled?: SettledFact;
  /** The workflow's verdict on the reply (goals with verified identity). */
  verdict?: DecisionFact;
}

/** Follows a goal's questions through its history, emitting their audit entries. */
export class QuestionTrail {
  private readonly questions: QuestionRecord[] = [];

  constructor(
    private readonly emit: Emit,
    private readonly index: HistoryIndex,
  ) {}

  /** A question still waits. */
  hasOpen(): boolean {
    return this.questions.some((q) => q.status === 'pending');
  }

  /** The workflow's fact: a question was asked. */
  asked(loc: Located, fact: AskedFact): void {
    this.open(loc, {
      id: fact.questionId,
      agent: fact.agent,
      step: 0,
      question: fact.question,
      ...(fact.about ? { about: fact.about } : {}),
      to: [],
      eligible: [...fact.eligible],
      status: 'pending',
      askedAt: loc.ev.time,
      ...(fact.deadline ? { deadline: fact.deadline } : {}),
    });
  }

  /** An older history: the goal waits on a human and an `ask_human` call is outstanding. */
  inferred(loc: Located, q: { agent: string; question: string; eligible: string[]; timeout?: string }): void {
    this.open(loc, {
      id: `q-${this.questions.length + 1}`,
      agent: q.agent,
      step: 0,
      question: q.question,
      to: [],
      eligible: [...q.eligible],
      status: 'pending',
      askedAt: loc.ev.time,
    });
  }

  private open(loc: Located, q: QuestionRecord): void {
    this.questions.push(q);
    this.emit(
      loc,
      AuditKind.QuestionAsked,
      `agent:${q.agent}`,
      `${q.id}: ${q.about === 'refusal' ? `${q.agent}'s refusal put to` : `${q.agent} asks`} ${q.eligible.join(', ') || 'a human'}: "${clipLine(q.question, 80)}"${q.deadline ? `, deadline ${q.deadline}` : ''}`,
      {
        questionId: q.id,
        agent: q.agent,
        question: q.question,
        eligible: q.eligible,
        deadline: q.deadline ?? null,
        ...(q.about ? { about: q.about } : {}),
      },
    );
  }

  /** A `reply` signal; with facts, the workflow's record of taking it says it counted. */
  signaled(loc: Located, withFacts: boolean): void {
    const a = loc.ev.attrs;
    const reply = decodePayloads(a.input)[0] as HumanReply;
    let settled: SettledFact | undefined;
    if (withFacts) {
      // The handler runs in the next workflow task: the first such fact after the signal is its outcome.
      const next = this.index.facts.find(
        (f) =>
          f.loc.pos > loc.pos &&
          f.fact.fact === 'question.settled' &&
          f.fact.via === 'signal' &&
          f.fact.questionId === reply?.questionId &&
          f.fact.by === reply?.by,
      );
      if (next) settled = next.fact as SettledFact;
    }
    const identity = typeof a.identity === 'string' ? a.identity : null;
    const verdict = this.index.verdictFor(loc, 'question', reply?.questionId, 'signal');
    this.reply(
      loc,
      { via: 'signal', reply, identity, ...(settled ? { settled } : {}), ...(verdict ? { verdict } : {}) },
      [loc.ev.id],
    );
  }

  /** A `reply` update, with the outcome the workflow returned. */
  updated(loc: Located, request: UpdateRequest, result: UpdateResult): void {
    const reply = decodePayloads(request?.input?.args)[0] as HumanReply;
    const verdict = result.done ? this.index.verdictFor(loc, 'question', reply?.questionId, 'update') : undefined;
    this.reply(
      loc,
      {
        via: 'update',
        reply,
        ...(verdict ? { verdict } : {}),
        identity: request?.meta?.identity ?? null,
        result,
        updateId: request?.meta?.updateId ?? null,
      },
      result.events,
    );
  }

  /** A `reply` signal or update: who answered (as the reply names them), and whether the goal took the answer. */
  private reply(loc: Located, e: ReplyEvent, events: number[]): void {
    const r = e.reply;
    let outcome: 'accepted' | 'refused' | 'pending';
    let refusal: string | undefined;
    const done = e.result?.done;
    if (e.via === 'update') {
      const failure = e.result?.failure;
      outcome = !done ? 'pending' : failure ? 'refused' : 'accepted';
      refusal = failure?.message;
      const record = e.result?.success ? (e.result.success as QuestionRecord | undefined) : undefined;
      if (record?.id && !this.questions.some((q) => q.id === record.id)) this.questions.push({ ...record });
    } else if (e.verdict) {
      outcome = e.verdict.outcome;
      refusal = e.verdict.reason;
    } else if (e.settled) {
      outcome = 'accepted';
    } else {
      refusal = replyRefusalReason(this.questions, r);
      outcome = refusal === undefined ? 'accepted' : 'refused';
    }
    const who = actIdentity(e.verdict, r?.by, r?.assertion, e.identity);
    const q = this.questions.find((x) => x.id === r?.questionId);
    if (outcome === 'accepted' && q) Object.assign(q, { status: 'answered', answer: r.answer, by: who.who });
    const by = who.who;
    this.emit(
      loc,
      AuditKind.QuestionReply,
      who.actor,
      outcome === 'refused'
        ? `${by} tried to answer ${String(r?.questionId)} (${e.via}) → refused: ${refusal ?? 'unknown reason'}`
        : `${by} answered ${String(r?.questionId)} (${e.via}${outcome === 'pending' ? ', in progress' : ''}): "${clipLine(String(r?.answer), 80)}"`,
      {
        via: e.via,
        questionId: r?.questionId ?? null,
        by: outcome === 'accepted' ? by : null,
        answer: r?.answer ?? null,
        ...who.data,
        outcome,
        ...(refusal === undefined ? {} : { refusal }),
        ...(e.via === 'update' ? { updateId: e.updateId ?? null, completedAt: done?.ev.time ?? null } : {}),
        questionStatus: q?.status ?? null,
      },
      events,
    );
  }

  /** The workflow's fact: a question settled. Only a timeout is news here (a reply has its own record). */
  settled(loc: Located, fact: SettledFact): void {
    const q = this.questions.find((x) => x.id === fact.questionId);
    if (q) q.status = fact.status;
    if (fact.status === 'timed_out') this.timedOut(loc, fact.questionId, q, [loc.ev.id]);
  }

  /**
   * A timer fired. In an older history a timer that fires while a question (with a timeout) waits and no approval
   * does is the question's deadline. With facts, the question's timer is its own (its summary names it) and the
   * timeout is recorded by the fact; the timer adds no record. True when the timer was a question's.
   */
  timerFired(loc: Located, summary: string | undefined, withFacts: boolean, approvalOpen: boolean): boolean {
    const open = this.questions.filter((q) => q.status === 'pending');
    if (withFacts) return summary !== undefined && open.some((q) => summary.startsWith(`${q.id}:`));
    const q = open.at(-1);
    if (!q || approvalOpen) return false;
    q.status = 'timed_out';
    this.timedOut(loc, q.id, q, [loc.ev.id]);
    return true;
  }

  private timedOut(loc: Located, id: string, q: QuestionRecord | undefined, events: number[]): void {
    this.emit(
      loc,
      AuditKind.QuestionTimeout,
      'baton',
      `${id}: nobody answered ${q ? `${compact(q.eligible, 40)} ` : ''}in time; the agent goes on without it`,
      { questionId: id, eligible: q?.eligible ?? null, deadline: q?.deadline ?? null },
      events,
    );
  }
}
