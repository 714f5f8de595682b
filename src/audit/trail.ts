/**
 * The audit trail of a goal, reconstructed from its Temporal history alone: the pinned blueprint, every model call
 * and tool call (activities), every human decision (the `approval` signal and the `decide` update), the approval
 * waits (search attribute upserts and timers), and how the goal ended, across continue-as-new runs.
 *
 * What history records directly is reported as recorded: activity results, and the structured facts the workflow
 * records for what it decides without an activity (refusals, engine tools, questions and approvals opened and settled;
 * src/workflows/facts.ts). Histories from before the facts are read the older way: a tool call's outcome from what
 * the model was told, an approval from `BatonStatus`. What history implies is derived with the same pure rules the
 * workflow applies (src/workflows/approvals.ts, policy.ts) to the blueprint pinned in the first event: which tool
 * call an approval is for, whether a signalled decision counted, whether a timer was a reminder, an escalation or
 * the deadline. Refused `decide` updates are rejected by the validator before they reach history, so they are not
 * in the trail; refused `approval` signals are.
 */
import type { ModelReply, ModelRequest, ToolRequest, ToolResult } from '../activities/index.js';
import { hashBlueprint } from '../blueprint/load.js';
import { describeMcpServer, mcpBindings, type McpBinding, type PinnedMcp } from '../blueprint/mcp.js';
import type { Blueprint } from '../blueprint/schema.js';
import { resolveApprovers } from '../workflows/approvals.js';
import type { ChatMessage, GoalArgs, GoalResult, HumanReply, ToolCallRequest } from '../workflows/definitions.js';
import { isKnownTool } from '../workflows/engine-tools.js';
import { asFact, FACT_MEMO_KEY, type AuditFact, type DecisionFact, type StarterFact } from '../workflows/facts.js';
import { CLIENT_DECLARED } from './identity.js';
import { keptText } from '../identity/authorize.js';
import { needsApproval } from '../workflows/policy.js';
import { ApprovalTrail, type ClaimedCall } from './approvals.js';
import { formatSeconds } from '../text.js';
import { QuestionTrail } from './questions.js';
import {
  AuditKind,
  canonicalJson,
  clipLine,
  compact,
  failureInfo,
  type AuditEntry,
  type AuditKindName,
  type FailureInfo,
  type Located,
  type TrailFacts,
} from './entry.js';
import { decodePayloads, firstPayload, int, msBetween, text, type RunHistory } from './history.js';

export { AuditKind, type AuditEntry, type AuditKindName, type TrailFacts } from './entry.js';

interface ActivityInfo {
  scheduled: Located;
  started?: Located;
  closed?: Located;
  type: string;
  activityId: string;
  input: unknown;
  call?: CallState;
}

interface CallState {
  index: number;
  call: ToolCallRequest;
  args: unknown;
  agent: string;
  told?: string;
  activity?: ActivityInfo;
  emitted: boolean;
  approvalId?: string;
}

interface FactAt {
  loc: Located;
  fact: AuditFact;
  used: boolean;
}

type ToolFact = Extract<AuditFact, { fact: 'tool' }>;

interface Batch {
  model: ActivityInfo;
  reply: ModelReply;
  calls: CallState[];
}

function parseArguments(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function usd(value: number): string {
  return `$${value.toFixed(6).replace(/0{1,4}$/, '')}`;
}

function failureDetails(failure: unknown): unknown[] {
  const app = (failure as { applicationFailureInfo?: { details?: unknown } } | undefined)?.applicationFailureInfo;
  return decodePayloads(app?.details);
}

/** Builds the trail of one goal from its runs (oldest first). */
export function buildTrail(goalId: string, runs: RunHistory[]): { entries: AuditEntry[]; facts: TrailFacts } {
  return new TrailBuilder(goalId, runs).build();
}

class TrailBuilder {
  private readonly all: Located[] = [];
  private readonly activities = new Map<string, ActivityInfo>();
  private readonly models: ActivityInfo[] = [];
  private readonly updateOutcomes = new Map<string, Located>();
  private readonly timersStarted = new Map<string, Located>();
  private readonly entries: AuditEntry[] = [];
  private bp: Blueprint | undefined;
  /** MCP tools the goal pinned, by model-facing name (read on first need). */
  private mcpTools: Map<string, McpBinding> | undefined;
  private args: GoalArgs | undefined;
  private batch: Batch | undefined;
  private readonly approvals: ApprovalTrail;
  private readonly questions: QuestionTrail;
  /** The structured facts the workflow recorded, in history order; none in histories from before them. */
  private readonly facts: FactAt[] = [];
  private status = 'running';
  private closed = false;
  /** Set while the last run's close event is handled: outcomes still missing will never come. */
  private closing = false;

  constructor(
    private readonly goalId: string,
    private readonly runs: RunHistory[],
  ) {
    runs.forEach((r, i) => {
      for (const ev of r.events) this.all.push({ run: i + 1, runId: r.runId, ev, pos: this.all.length });
    });
    this.index();
    this.approvals = new ApprovalTrail(
      (...args) => this.emit(...args),
      this.updateOutcomes,
      this.timersStarted,
      this.all,
    );
    this.questions = new QuestionTrail((...args) => this.emit(...args));
  }

  /** True when the history records facts: the audit reads them instead of inferring from status and wording. */
  private get withFacts(): boolean {
    return this.facts.length > 0;
  }

  private key(loc: Pick<Located, 'run'>, eventId: number): string {
    return `${loc.run}:${eventId}`;
  }

  /** First pass: activities with their start and close, update outcomes, timers. */
  private index(): void {
    for (const loc of this.all) {
      const a = loc.ev.attrs;
      switch (loc.ev.type) {
        case 'ActivityTaskScheduled': {
          const info: ActivityInfo = {
            scheduled: loc,
            type: String((a.activityType as { name?: string } | undefined)?.name ?? '?'),
            activityId: text(a.activityId),
            input: firstPayload(a.input),
          };
          this.activities.set(this.key(loc, loc.ev.id), info);
          if (info.type === 'callModel') this.models.push(info);
          break;
        }
        case 'ActivityTaskStarted': {
          const info = this.activities.get(this.key(loc, int(a.scheduledEventId)));
          if (info) info.started = loc;
          break;
        }
        case 'ActivityTaskCompleted':
        case 'ActivityTaskFailed':
        case 'ActivityTaskTimedOut':
        case 'ActivityTaskCanceled': {
          const info = this.activities.get(this.key(loc, int(a.scheduledEventId)));
          if (info) info.closed = loc;
          break;
        }
        case 'WorkflowExecutionUpdateCompleted': {
          // Servers differ in which link they fill: the accepted event's id, or the update id.
          const updateId = (a.meta as { updateId?: string } | undefined)?.updateId;
          if (int(a.acceptedEventId) > 0) this.updateOutcomes.set(this.key(loc, int(a.acceptedEventId)), loc);
          if (updateId) this.updateOutcomes.set(`${loc.run}:update:${updateId}`, loc);
          break;
        }
        case 'TimerStarted':
          this.timersStarted.set(`${loc.run}:${String(a.timerId)}`, loc);
          break;
        case 'WorkflowPropertiesModified': {
          const fields = (a.upsertedMemo as { fields?: Record<string, unknown> } | undefined)?.fields;
          const fact = fields?.[FACT_MEMO_KEY]
            ? asFact(firstPayload({ payloads: [fields[FACT_MEMO_KEY]] }))
            : undefined;
          if (fact) this.facts.push({ loc, fact, used: false });
          break;
        }
        default:
          break;
      }
    }
  }

  build(): { entries: AuditEntry[]; facts: TrailFacts } {
    for (const loc of this.all) this.visit(loc);
    return {
      entries: this.entries,
      facts: {
        goalId: this.goalId,
        goal: this.bp?.name ?? '?',
        blueprintHash: this.args?.blueprintHash ?? '',
        runs: this.runs.map((r) => r.runId),
        status: this.status,
        closed: this.closed,
        published: this.approvals.published,
      },
    };
  }

  private emit(
    loc: Located,
    kind: AuditKindName,
    actor: string,
    summary: string,
    data: Record<string, unknown>,
    events: number[] = [loc.ev.id],
  ): void {
    this.entries.push({
      kind,
      at: loc.ev.time,
      actor,
      summary,
      run: loc.run,
      runId: loc.runId,
      eventId: loc.ev.id,
      events,
      data,
    });
  }

  private visit(loc: Located): void {
    const a = loc.ev.attrs;
    switch (loc.ev.type) {
      case 'WorkflowExecutionStarted':
        return this.started(loc);
      case 'ActivityTaskScheduled':
        return this.activityScheduled(loc);
      case 'ActivityTaskCompleted': {
        const info = this.activities.get(this.key(loc, int(a.scheduledEventId)));
        if (info?.type === 'callModel') this.openBatch(info);
        return;
      }
      case 'UpsertWorkflowSearchAttributes':
        return this.approvals.upsert(
          loc,
          (at) => this.claimCall(at),
          this.withFacts ? undefined : (at) => this.inferQuestion(at),
        );
      case 'WorkflowPropertiesModified':
        return this.fact(loc);
      case 'WorkflowExecutionSignaled':
        if (text(a.signalName) === 'reply') return this.replySignaled(loc);
        return this.approvals.signaled(loc, (id) => this.verdictFor(loc, 'approval', id, 'signal'));
      case 'WorkflowExecutionUpdateAccepted':
        if (text((a.acceptedRequest as { input?: { name?: string } } | undefined)?.input?.name) === 'reply') {
          return this.replyUpdated(loc);
        }
        return this.approvals.updateAccepted(loc, (id) => this.verdictFor(loc, 'approval', id, 'update'));
      case 'TimerFired': {
        const started = this.timersStarted.get(`${loc.run}:${String(a.timerId)}`);
        if (this.questions.timerFired(loc, started?.ev.summary, this.withFacts, this.approvals.hasOpen())) return;
        return this.approvals.timerFired(loc);
      }
      case 'WorkflowExecutionCancelRequested':
        return this.emit(
          loc,
          AuditKind.CancelRequested,
          text(a.identity, 'unknown client'),
          `cancellation requested${a.cause ? `: ${text(a.cause)}` : ''}`,
          { identity: a.identity ?? null, cause: a.cause ?? null },
        );
      case 'StartChildWorkflowExecutionInitiated':
        return this.emit(
          loc,
          AuditKind.ChildStarted,
          'baton',
          `child ${String(a.workflowId)} (${String((a.workflowType as { name?: string } | undefined)?.name)}) started`,
          {
            workflowId: a.workflowId,
            workflowType: (a.workflowType as { name?: string } | undefined)?.name,
            input: decodePayloads(a.input),
          },
        );
      case 'ChildWorkflowExecutionCompleted':
      case 'ChildWorkflowExecutionFailed':
      case 'ChildWorkflowExecutionCanceled':
      case 'ChildWorkflowExecutionTerminated':
      case 'ChildWorkflowExecutionTimedOut': {
        const child = (a.workflowExecution as { workflowId?: string } | undefined)?.workflowId;
        const outcome = loc.ev.type.replace('ChildWorkflowExecution', '').toLowerCase();
        const failure = failureInfo(a.failure);
        return this.emit(
          loc,
          AuditKind.ChildFinished,
          'baton',
          `child ${String(child)} ${outcome}${failure ? `: ${failure.message}` : ''}`,
          {
            workflowId: child,
            outcome,
            ...(a.result ? { result: firstPayload(a.result) } : {}),
            ...(failure ? { failure } : {}),
          },
        );
      }
      case 'WorkflowExecutionCompleted':
      case 'WorkflowExecutionFailed':
      case 'WorkflowExecutionCanceled':
      case 'WorkflowExecutionTerminated':
      case 'WorkflowExecutionTimedOut':
      case 'WorkflowExecutionContinuedAsNew':
        return this.closeRun(loc);
      default:
        return;
    }
  }

  private started(loc: Located): void {
    const a = loc.ev.attrs;
    const args = firstPayload(a.input) as GoalArgs | undefined;
    if (loc.run > 1) {
      if (args?.carried?.approvals) this.approvals.carried(args.carried.approvals);
      return;
    }
    this.args = args;
    this.bp = args?.blueprint;
    this.approvals.pin(this.bp);
    const computed = this.bp ? hashBlueprint(this.bp) : undefined;
    // Goals with verified identity record who started them; older ones only have the name the start gave.
    const starter = this.facts.find((f) => f.loc.run === 1 && f.fact.fact === 'starter')?.fact as
      StarterFact | undefined;
    const startedBy = starter?.subject ?? args?.startedBy ?? 'unknown';
    this.emit(
      loc,
      AuditKind.GoalStarted,
      starter?.verified ? `user:${startedBy}` : `unverified:${startedBy}`,
      `${startedBy} started ${this.bp?.name ?? 'a goal'} with ${compact(args?.input ?? {}, 60)} (blueprint sha256 ${args?.blueprintHash?.slice(0, 12) ?? '?'}${computed === args?.blueprintHash ? '' : ', HASH MISMATCH'})`,
      {
        goal: this.bp?.name ?? null,
        workflowType: (a.workflowType as { name?: string } | undefined)?.name ?? null,
        taskQueue: (a.taskQueue as { name?: string } | undefined)?.name ?? null,
        identity: a.identity ?? null,
        identityIs: CLIENT_DECLARED,
        startedBy,
        starter: starter ?? {
          subject: startedBy,
          verified: false,
          reason: 'the goal records no verified starter: the name is a claim',
        },
        input: args?.input ?? null,
        blueprintHash: args?.blueprintHash ?? null,
        blueprintHashMatches: computed !== undefined && computed === args?.blueprintHash,
        blueprint: this.bp ?? null,
        staticSummary: loc.ev.summary ?? null,
        staticDetails: loc.ev.details ?? null,
      },
    );
  }

  private activityFacts(info: ActivityInfo): { data: Record<string, unknown>; events: number[]; status: string } {
    const closed = info.closed?.ev;
    const status = !closed
      ? 'running'
      : ({
          ActivityTaskCompleted: 'completed',
          ActivityTaskFailed: 'failed',
          ActivityTaskTimedOut: 'timed_out',
          ActivityTaskCanceled: 'cancelled',
        }[closed.type] ?? 'unknown');
    const started = info.started?.ev;
    const attempts = started ? int(started.attrs.attempt) : undefined;
    const lastFailure = started ? failureInfo(started.attrs.lastFailure) : undefined;
    const failure = closed ? failureInfo(closed.attrs.failure) : undefined;
    const data: Record<string, unknown> = {
      activityId: info.activityId,
      activityType: info.type,
      status,
      attempts: attempts ?? null,
      scheduledAt: info.scheduled.ev.time,
      startedAt: started?.time ?? null,
      closedAt: closed?.time ?? null,
      durationMs: started && closed ? msBetween(started.time, closed.time) : null,
      totalMs: closed ? msBetween(info.scheduled.ev.time, closed.time) : null,
      ...(lastFailure ? { lastFailure } : {}),
      ...(failure ? { failure } : {}),
    };
    const events = [info.scheduled.ev.id, ...(started ? [started.id] : []), ...(closed ? [closed.id] : [])];
    return { data, events, status };
  }

  private activityScheduled(loc: Located): void {
    const info = this.activities.get(this.key(loc, loc.ev.id));
    if (!info) return;
    if (info.type === 'callModel') return this.modelCall(loc, info);
    if (info.type === 'runTool') return this.toolCall(loc, info);
    const { data, events, status } = this.activityFacts(info);
    const result =
      info.closed?.ev.type === 'ActivityTaskCompleted' ? firstPayload(info.closed.ev.attrs.result) : undefined;
    this.emit(
      loc,
      AuditKind.Activity,
      'baton',
      `${loc.ev.summary ?? info.type} → ${status}`,
      { ...data, summary: loc.ev.summary ?? null, input: info.input ?? null, result: result ?? null },
      events,
    );
  }

  private modelCall(loc: Located, info: ActivityInfo): void {
    this.flushBatch(loc);
    const req = info.input as ModelRequest | undefined;
    const { data, events, status } = this.activityFacts(info);
    const reply =
      info.closed?.ev.type === 'ActivityTaskCompleted'
        ? (firstPayload(info.closed.ev.attrs.result) as ModelReply | undefined)
        : undefined;
    const price = req?.settings?.price;
    const tokens = reply ? { input: reply.usage.inputTokens, output: reply.usage.outputTokens } : null;
    const cost =
      tokens && price ? (tokens.input * price.input + tokens.output * price.output) / 1e6 : tokens ? 0 : null;
    const calls = reply?.toolCalls ?? [];
    const agent = req?.agent ?? '?';
    const what = !reply
      ? status === 'running'
        ? 'waiting for the model'
        : `failed: ${String((data.failure as FailureInfo | undefined)?.message ?? status)}`
      : calls.length
        ? `chose ${calls.map((c) => c.name).join(', ')}`
        : 'answered';
    this.emit(
      loc,
      AuditKind.ModelCall,
      `agent:${agent}`,
      `${agent} → ${req?.settings?.model ?? '?'}: ${what}${tokens ? ` · ${tokens.input}+${tokens.output} tokens · ${usd(cost ?? 0)}` : ''}${reply?.content ? ` · "${clipLine(reply.content, 70)}"` : ''}`,
      {
        agent,
        model: req?.settings?.model ?? null,
        servedBy: reply?.model ?? null,
        tokens,
        costUsd: cost,
        toolCalls: calls.map((c) => ({ id: c.id, name: c.name, arguments: parseArguments(c.arguments) })),
        reason: reply?.content ?? null,
        finishReason: reply?.finishReason ?? null,
        messages: req?.messages?.length ?? null,
        ...data,
      },
      events,
    );
  }

  /** The model replied: its tool calls are dispatched next; match them with the tool activities that ran. */
  private openBatch(model: ActivityInfo): void {
    this.flushBatch(model.closed ?? model.scheduled);
    const reply = firstPayload(model.closed?.ev.attrs.result) as ModelReply | undefined;
    if (!reply?.toolCalls?.length) {
      this.batch = undefined;
      return;
    }
    const agent = (model.input as ModelRequest | undefined)?.agent ?? '?';
    const calls: CallState[] = reply.toolCalls.map((call, index) => ({
      index,
      call,
      args: parseArguments(call.arguments),
      agent,
      emitted: false,
    }));
    const at = model.closed?.pos ?? model.scheduled.pos;
    const next = this.models.find((m) => m.scheduled.pos > at);
    const end = next?.scheduled.pos ?? Infinity;
    for (const info of this.activities.values()) {
      if (info.type !== 'runTool' || info.scheduled.pos <= at || info.scheduled.pos >= end) continue;
      const req = info.input as ToolRequest | undefined;
      const free = calls.filter((c) => !c.activity && c.call.name === req?.tool);
      const match = free.find((c) => canonicalJson(c.args) === canonicalJson(req?.args)) ?? free[0];
      if (match) {
        match.activity = info;
        info.call = match;
      }
    }
    const told = this.toldTexts(reply, next, at);
    for (const c of calls) {
      const text = told.get(c.call.id);
      if (text !== undefined) c.told = text;
    }
    this.batch = { model, reply, calls };
  }

  /** What the workflow told the model about each tool call: the tool messages in the next model request. */
  private toldTexts(reply: ModelReply, next: ActivityInfo | undefined, after: number): Map<string, string> {
    let messages = (next?.input as ModelRequest | undefined)?.messages;
    if (!messages) {
      const nextStart = this.all.find((l) => l.pos > after && l.ev.type === 'WorkflowExecutionStarted');
      messages = (firstPayload(nextStart?.ev.attrs.input) as GoalArgs | undefined)?.carried?.messages;
    }
    const told = new Map<string, string>();
    if (!messages) return told;
    const ids = reply.toolCalls.map((c) => c.id).join('\n');
    let start = -1;
    for (let i = messages.length - 1; i >= 0; i--) {
      const m: ChatMessage | undefined = messages[i];
      if (m?.role === 'assistant' && (m.toolCalls ?? []).map((c) => c.id).join('\n') === ids) {
        start = i;
        break;
      }
    }
    if (start < 0) return told;
    for (const m of messages.slice(start + 1)) {
      if (m.role === 'assistant') break;
      if (m.role === 'tool' && !told.has(m.toolCallId)) told.set(m.toolCallId, m.content);
    }
    return told;
  }

  /** Records the tool calls before `upTo` that ran no activity (refused, not run, handled in the workflow). */
  private flushBatch(loc: Located, upTo = Infinity): void {
    if (!this.batch) return;
    for (const c of this.batch.calls) {
      if (c.index >= upTo) break;
      if (c.emitted || c.activity) continue;
      this.emitUnrunCall(loc, c);
    }
    if (upTo === Infinity) this.batch = undefined;
  }

  private emitUnrunCall(loc: Located, c: CallState, fact?: ToolFact): void {
    c.emitted = true;
    const spec = this.bp?.tools[c.call.name];
    const engineTool = !spec && this.bp !== undefined && isKnownTool(this.bp, c.call.name);
    const permitted = engineTool || (this.bp?.agents[c.agent]?.tools.includes(c.call.name) ?? false);
    const told = c.told;
    // The workflow's fact says what became of the call. Histories from before the facts: what the model was told
    // says it; before that is in history (the goal is still deciding, or it ended first), the pinned blueprint still
    // says whether the call was allowed at all.
    let outcome: string;
    let why: string;
    if (fact) {
      outcome = fact.outcome;
      why = clipLine(fact.summary, 100);
    } else if (this.withFacts && !this.closing) {
      outcome = 'pending';
      why = 'outcome not in history yet';
    } else if (told !== undefined) {
      outcome = /^refused/i.test(told)
        ? 'refused'
        : /^not run/i.test(told)
          ? 'not_run'
          : /^error/i.test(told)
            ? 'invalid'
            : 'handled';
      why = clipLine(told, 100);
    } else if (engineTool) {
      outcome = 'handled';
      why = `${c.call.name}: an engine tool, handled in the workflow (the goal ended with it)`;
    } else if (!spec) {
      outcome = 'invalid';
      why = `the blueprint has no tool ${c.call.name}`;
    } else if (!permitted) {
      outcome = 'refused';
      why = `the blueprint does not let agent ${c.agent} use ${c.call.name}`;
    } else {
      outcome = this.closing ? 'unknown' : 'pending';
      why = this.closing ? 'no outcome in history (the goal ended first)' : 'outcome not in history yet';
    }
    const approvalId =
      fact?.approvalId ?? c.approvalId ?? (fact ? undefined : /approval (\S+) was/.exec(told ?? '')?.[1]);
    this.emit(
      loc,
      AuditKind.ToolCall,
      `agent:${c.agent}`,
      `${c.agent}: ${c.call.name} ${compact(c.args, 60)} → ${why}`,
      {
        agent: c.agent,
        tool: c.call.name,
        callId: c.call.id,
        args: c.args,
        outcome,
        ranActivity: false,
        toolDefined: spec !== undefined || engineTool,
        engineTool,
        agentPermitted: permitted,
        decidedBy: outcome === 'handled' ? 'workflow' : 'baton',
        told: told ?? null,
        ...(fact?.refusal ? { refusal: fact.refusal } : {}),
        ...(fact?.detail ? { detail: fact.detail } : {}),
        source: fact ? 'recorded by the workflow' : 'read from what the model was told',
        ...(approvalId ? { approvalId } : {}),
      },
    );
  }

  /** A structured fact the workflow recorded: a tool call's outcome, a question or an approval. */
  private fact(loc: Located): void {
    const at = this.facts.find((f) => f.loc === loc);
    if (!at || at.used) return;
    at.used = true;
    const fact = at.fact;
    switch (fact.fact) {
      case 'tool': {
        const c = this.batch?.calls.find((x) => x.call.id === fact.callId && !x.emitted);
        if (!c) return;
        if (c.activity) return; // its activity's record says how it ended
        this.flushBatch(loc, c.index);
        return this.emitUnrunCall(loc, c, fact);
      }
      case 'approval.opened': {
        const candidate = fact.callId ? this.claimCallById(loc, fact.callId) : undefined;
        return this.approvals.openedFact(loc, fact, candidate);
      }
      case 'approval.settled':
        return this.approvals.settledFact(fact);
      case 'question.asked':
        return this.questions.asked(loc, fact);
      case 'question.settled':
        return this.questions.settled(loc, fact);
      case 'decision':
        return; // read with the signal or update it judged (verdictFor)
      case 'starter':
        return; // read with the goal's start (started)
    }
  }

  /**
   * The workflow's verdict on the human act at `loc`: its handler runs after the event is recorded, so the verdict is
   * the first unread `decision` fact after it for the same target and transport.
   */
  private verdictFor(
    loc: Located,
    on: DecisionFact['on'],
    targetId: unknown,
    via: DecisionFact['via'],
  ): DecisionFact | undefined {
    const target = keptText(String(targetId));
    const at = this.facts.find(
      (f) =>
        !f.used &&
        f.loc.pos > loc.pos &&
        f.fact.fact === 'decision' &&
        f.fact.on === on &&
        f.fact.via === via &&
        f.fact.targetId === target,
    );
    if (!at) return undefined;
    at.used = true;
    return at.fact as DecisionFact;
  }

  /** A `reply` signal; with facts, the workflow's record of taking it says it counted. */
  private replySignaled(loc: Located): void {
    const a = loc.ev.attrs;
    const reply = decodePayloads(a.input)[0] as HumanReply;
    let settled: Extract<AuditFact, { fact: 'question.settled' }> | undefined;
    if (this.withFacts) {
      // The handler runs in the next workflow task: the first such fact after the signal is its outcome.
      const next = this.facts.find(
        (f) =>
          f.loc.pos > loc.pos &&
          f.fact.fact === 'question.settled' &&
          f.fact.via === 'signal' &&
          f.fact.questionId === reply?.questionId &&
          f.fact.by === reply?.by,
      );
      if (next) settled = next.fact as Extract<AuditFact, { fact: 'question.settled' }>;
    }
    const verdict = this.verdictFor(loc, 'question', reply?.questionId, 'signal');
    this.questions.reply(
      loc,
      {
        via: 'signal',
        reply,
        identity: typeof a.identity === 'string' ? a.identity : null,
        ...(settled ? { settled } : {}),
        ...(verdict ? { verdict } : {}),
      },
      [loc.ev.id],
    );
  }

  /** A `reply` update, with the outcome the workflow returned. */
  private replyUpdated(loc: Located): void {
    const request = loc.ev.attrs.acceptedRequest as
      { meta?: { updateId?: string; identity?: string }; input?: { args?: unknown } } | undefined;
    const done =
      this.updateOutcomes.get(`${loc.run}:${loc.ev.id}`) ??
      this.updateOutcomes.get(`${loc.run}:update:${request?.meta?.updateId ?? ''}`);
    const reply = decodePayloads(request?.input?.args)[0] as HumanReply;
    const verdict = done ? this.verdictFor(loc, 'question', reply?.questionId, 'update') : undefined;
    this.questions.reply(
      loc,
      {
        via: 'update',
        reply,
        identity: request?.meta?.identity ?? null,
        ...(done ? { done } : {}),
        ...(verdict ? { verdict } : {}),
        updateId: request?.meta?.updateId ?? null,
      },
      [loc.ev.id, ...(done ? [done.ev.id] : [])],
    );
  }

  /**
   * An older history's human wait with no approval to claim: a question, when the batch has an outstanding
   * `ask_human` call. True when it was one.
   */
  private inferQuestion(loc: Located): boolean {
    const c = this.batch?.calls.find((x) => x.call.name === 'ask_human' && !x.emitted && !x.activity);
    if (!c) return false;
    const settings = this.bp?.agents[c.agent]?.askHuman;
    const eligible = settings && this.bp ? resolveApprovers(settings.to, this.bp.approvers) : [];
    const question = (c.args as { question?: unknown } | undefined)?.question;
    this.questions.inferred(loc, {
      agent: c.agent,
      question: typeof question === 'string' ? question : compact(c.args, 200),
      eligible: eligible.length ? eligible : (this.approvals.published.approvers ?? []),
    });
    return true;
  }

  private toolCall(loc: Located, info: ActivityInfo): void {
    const call = info.call;
    if (call) this.flushBatch(loc, call.index);
    if (call) call.emitted = true;
    const req = info.input as ToolRequest | undefined;
    const { data, events, status } = this.activityFacts(info);
    const result =
      info.closed?.ev.type === 'ActivityTaskCompleted'
        ? (firstPayload(info.closed.ev.attrs.result) as ToolResult | undefined)
        : undefined;
    const agent = req?.agent ?? call?.agent ?? '?';
    const failure = data.failure as FailureInfo | undefined;
    const attempts = typeof data.attempts === 'number' && data.attempts > 1 ? `, ${data.attempts} attempts` : '';
    const took = formatSeconds(typeof data.totalMs === 'number' ? data.totalMs : undefined);
    const outcome = result
      ? clipLine(result.output.split('\n')[0] ?? '', 40)
      : failure
        ? `failed: ${failure.message}`
        : status;
    const approvalId = call?.approvalId;
    this.emit(
      loc,
      AuditKind.ToolCall,
      `agent:${agent}`,
      `${agent}: ${req?.tool ?? '?'} ${compact(req?.args, 60)} → ${outcome}${took ? ` (${took}${attempts})` : ''}`,
      {
        agent,
        tool: req?.tool ?? null,
        callId: call?.call.id ?? null,
        args: req?.args ?? null,
        outcome: status === 'completed' ? 'ran' : status,
        ranActivity: true,
        sideEffect: (req?.spec?.type === 'mcp' ? req.spec.call.sideEffect : req?.spec?.sideEffect) ?? null,
        ...(req?.spec?.type === 'mcp'
          ? {
              mcp: {
                source: req.spec.call.source,
                server: describeMcpServer(req.spec),
                tool: req.spec.call.tool,
                schemaHash: req.spec.call.schemaHash,
              },
            }
          : {}),
        idempotencyKey: result?.idempotencyKey ?? null,
        result: result ? { output: result.output, status: result.status ?? null, truncated: result.truncated } : null,
        ...(approvalId ? { approvalId } : {}),
        ...data,
      },
      events,
    );
  }

  /** The pinned MCP tool behind a model-facing name, from the goal's discovery result in history. */
  private mcpBinding(name: string): McpBinding | undefined {
    if (!this.bp?.mcp) return undefined;
    if (!this.mcpTools) {
      const discovery = [...this.activities.values()].find(
        (a) => a.type === 'discoverMcpTools' && a.closed?.ev.type === 'ActivityTaskCompleted',
      );
      const pinned = discovery?.closed
        ? (firstPayload(discovery.closed.ev.attrs.result) as PinnedMcp | undefined)
        : (this.args?.task?.mcp ?? this.args?.carried?.mcp);
      this.mcpTools = mcpBindings(this.bp, pinned ?? {}).bindings;
    }
    return this.mcpTools.get(name);
  }

  /** The call of the current batch an approval (recorded as a fact) is for. */
  private claimCallById(loc: Located, callId: string): ClaimedCall | undefined {
    const batch = this.batch;
    const candidate = batch?.calls.find((c) => c.call.id === callId && !c.emitted && !c.approvalId);
    if (!batch || !candidate) return undefined;
    this.flushBatch(loc, candidate.index);
    return {
      tool: candidate.call.name,
      args: candidate.args,
      agent: candidate.agent,
      reason: batch.reply.content ?? '',
      assign: (id) => {
        candidate.approvalId = id;
      },
    };
  }

  /** The call an approval opened at `loc` is for: the next call of the batch the blueprint says needs approval. */
  private claimCall(loc: Located): ClaimedCall | undefined {
    const batch = this.batch;
    const candidate = batch?.calls.find((c) => {
      if (c.emitted || c.approvalId) return false;
      if (c.activity && c.activity.scheduled.pos < loc.pos) return false;
      const spec = this.bp?.tools[c.call.name];
      const mcp = spec ? undefined : this.mcpBinding(c.call.name);
      const approval = spec ? spec.approval : mcp?.approval;
      const listed = this.bp?.agents[c.agent]?.tools.includes(mcp ? mcp.source : c.call.name);
      if (!approval || !listed) return false;
      return needsApproval(approval, c.args, this.args?.input).required;
    });
    if (!batch || !candidate) return undefined;
    this.flushBatch(loc, candidate.index);
    return {
      tool: candidate.call.name,
      args: candidate.args,
      agent: candidate.agent,
      ...(candidate.told === undefined ? {} : { told: candidate.told }),
      reason: batch.reply.content ?? '',
      assign: (id) => {
        candidate.approvalId = id;
      },
    };
  }

  private closeRun(loc: Located): void {
    this.closing = loc.ev.type !== 'WorkflowExecutionContinuedAsNew';
    this.flushBatch(loc);
    const a = loc.ev.attrs;
    if (loc.ev.type === 'WorkflowExecutionContinuedAsNew') {
      return this.emit(loc, AuditKind.RunContinued, 'baton', `continued as new in run ${String(a.newExecutionRunId)}`, {
        newRunId: a.newExecutionRunId ?? null,
      });
    }
    this.closed = true;
    const failure = failureInfo(a.failure);
    let result: GoalResult | undefined;
    let status: string;
    let actor = 'baton';
    let reason: string | undefined;
    switch (loc.ev.type) {
      case 'WorkflowExecutionCompleted':
        result = firstPayload(a.result) as GoalResult | undefined;
        status = result?.status ?? 'completed';
        break;
      case 'WorkflowExecutionFailed':
        result = failureDetails(a.failure)[0] as GoalResult | undefined;
        status = result?.status ?? 'failed';
        reason = failure?.message;
        break;
      case 'WorkflowExecutionCanceled':
        result = decodePayloads(a.details)[0] as GoalResult | undefined;
        status = 'cancelled';
        reason = result?.reason ?? 'the goal was cancelled';
        break;
      case 'WorkflowExecutionTerminated':
        status = 'terminated';
        actor = text(a.identity, 'unknown client');
        reason = text(a.reason);
        break;
      default:
        status = 'timed_out';
        reason = 'the workflow execution timed out';
    }
    this.status = status;
    if (failure?.type === 'BudgetExceeded') {
      this.emit(loc, AuditKind.BudgetExceeded, 'baton', `budget exceeded: ${failure.message}`, {
        reason: failure.message,
        budget: this.bp?.budget ?? null,
        usage: result?.usage ?? null,
      });
    }
    const said = result?.answer ?? reason ?? '';
    this.emit(loc, AuditKind.GoalFinished, actor, `${status}${said ? `: ${clipLine(said, 100)}` : ''}`, {
      status,
      answer: result?.answer ?? null,
      reason: reason ?? result?.reason ?? null,
      failureType: failure?.type ?? null,
      usage: result?.usage ?? null,
      steps: result?.steps ?? null,
      approvals: result?.approvals ?? null,
    });
  }
}
