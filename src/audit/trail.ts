/**
 * The audit trail of a goal, reconstructed from its Temporal history alone: the pinned blueprint, every model call
 * and tool call (activities), every human decision (the `approval` signal and the `decide` update), the approval
 * waits (search attribute upserts and timers), and how the goal ended, across continue-as-new runs.
 *
 * What history records directly is reported as recorded. What it implies is derived with the same pure rules the
 * workflow applies (src/workflows/approvals.ts, policy.ts) to the blueprint pinned in the first event: which tool
 * call an approval is for, whether a signalled decision counted, whether a timer was a reminder, an escalation or
 * the deadline. Refused `decide` updates are rejected by the validator before they reach history, so they are not
 * in the trail; refused `approval` signals are.
 */
import type { ModelReply, ModelRequest, ToolRequest, ToolResult } from '../activities/index.js';
import { hashBlueprint } from '../blueprint/load.js';
import type { ApprovalPolicy, Blueprint } from '../blueprint/schema.js';
import { applyVote, refusalReason, resolveApprovers } from '../workflows/approvals.js';
import type {
  ApprovalDecision,
  ApprovalRecord,
  ChatMessage,
  GoalArgs,
  GoalResult,
  ToolCallRequest,
} from '../workflows/definitions.js';
import { durationMs as blueprintDurationMs } from '../workflows/durations.js';
import { needsApproval } from '../workflows/policy.js';
import {
  decodePayloads,
  durationMs,
  firstPayload,
  int,
  msBetween,
  text,
  type HistoryEvent,
  type RunHistory,
} from './history.js';

/** Kinds of audit records, in the order a goal usually produces them. */
export const AuditKind = {
  GoalStarted: 'goal.started',
  ModelCall: 'model.call',
  ToolCall: 'tool.call',
  ApprovalRequested: 'approval.requested',
  ApprovalDecision: 'approval.decision',
  ApprovalReminder: 'approval.reminder',
  ApprovalEscalation: 'approval.escalation',
  ApprovalTimeout: 'approval.timeout',
  BudgetExceeded: 'budget.exceeded',
  Activity: 'activity',
  Signal: 'signal',
  Update: 'update',
  Timer: 'timer',
  ChildStarted: 'child.started',
  ChildFinished: 'child.finished',
  CancelRequested: 'goal.cancel_requested',
  RunContinued: 'run.continued',
  GoalFinished: 'goal.finished',
  Sealed: 'audit.sealed',
} as const;
export type AuditKindName = (typeof AuditKind)[keyof typeof AuditKind];

/** One fact of the trail, tied to the history event that records it. */
export interface AuditEntry {
  kind: AuditKindName;
  /** Time of the anchoring history event, exactly as Temporal recorded it. */
  at: string;
  /** Who: `user:NAME` (a person, as they named themselves), `agent:NAME`, `baton` (the goal's rules), or a client identity. */
  actor: string;
  /** One readable line. */
  summary: string;
  /** 1-based position of the run in the goal's continue-as-new chain. */
  run: number;
  runId: string;
  /** The anchoring event's id in that run. */
  eventId: number;
  /** Every event of that run this record draws on. */
  events: number[];
  data: Record<string, unknown>;
}

/** What the trail says about the goal as a whole. */
export interface TrailFacts {
  goalId: string;
  goal: string;
  blueprintHash: string;
  runs: string[];
  /** `running` until the last run closes. */
  status: string;
  /** True once the goal has ended. */
  closed: boolean;
  /** Latest BatonStatus / BatonApprovers / BatonCostUsd the goal published. */
  published: { status?: string; approvers?: string[]; costUsd?: number };
}

interface Located {
  run: number;
  runId: string;
  ev: HistoryEvent;
  pos: number;
}

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

interface Batch {
  model: ActivityInfo;
  reply: ModelReply;
  calls: CallState[];
}

interface OpenApproval {
  record: ApprovalRecord;
  policy?: ApprovalPolicy;
  reminders: number;
  escalations: number;
}

const BUDGET_TOOL = 'budget';

function compact(value: unknown, max = 80): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function clip(value: string, max: number): string {
  const one = value.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function canonical(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value)) ?? '';
}

function parseArguments(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function seconds(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '';
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}

function usd(value: number): string {
  return `$${value.toFixed(6).replace(/0{1,4}$/, '')}`;
}

interface FailureInfo {
  message: string;
  type?: string;
  nonRetryable?: boolean;
}

/** A Temporal failure (and its causes) as message and type; the innermost application failure names the cause. */
function failureInfo(failure: unknown): FailureInfo | undefined {
  if (!failure || typeof failure !== 'object') return undefined;
  let f = failure as Record<string, unknown> | undefined;
  let best: FailureInfo | undefined;
  while (f) {
    const app = f.applicationFailureInfo as { type?: string; nonRetryable?: boolean } | undefined;
    const info: FailureInfo = {
      message: text(f.message),
      ...(app?.type ? { type: app.type } : {}),
      ...(app?.nonRetryable ? { nonRetryable: true } : {}),
    };
    if (!best || app) best = info;
    f = f.cause as Record<string, unknown> | undefined;
  }
  return best;
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
  private args: GoalArgs | undefined;
  private approvals: ApprovalRecord[] = [];
  private open: OpenApproval[] = [];
  private batch: Batch | undefined;
  private readonly published: TrailFacts['published'] = {};
  private status = 'running';
  private closed = false;

  constructor(
    private readonly goalId: string,
    private readonly runs: RunHistory[],
  ) {
    runs.forEach((r, i) => {
      for (const ev of r.events) this.all.push({ run: i + 1, runId: r.runId, ev, pos: this.all.length });
    });
    this.index();
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
        published: this.published,
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
        return this.upsert(loc);
      case 'WorkflowExecutionSignaled':
        return this.signaled(loc);
      case 'WorkflowExecutionUpdateAccepted':
        return this.updateAccepted(loc);
      case 'TimerFired':
        return this.timerFired(loc);
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
      // The next run carries the approvals as the workflow knew them: the authoritative state at the boundary.
      if (args?.carried?.approvals) {
        this.approvals = args.carried.approvals.map((r) => ({ ...r, votes: [...r.votes], events: [...r.events] }));
        this.open = this.approvals
          .filter((r) => r.status === 'pending')
          .map((record) => {
            const policy = this.bp?.tools[record.tool]?.approval;
            return {
              record,
              ...(policy ? { policy } : {}),
              reminders: record.events.filter((e) => e.kind === 'reminder').length,
              escalations: record.events.filter((e) => e.kind === 'escalation').length,
            };
          });
      }
      return;
    }
    this.args = args;
    this.bp = args?.blueprint;
    const computed = this.bp ? hashBlueprint(this.bp) : undefined;
    const startedBy = args?.startedBy ?? 'unknown';
    this.emit(
      loc,
      AuditKind.GoalStarted,
      `user:${startedBy}`,
      `${startedBy} started ${this.bp?.name ?? 'a goal'} with ${compact(args?.input ?? {}, 60)} (blueprint sha256 ${args?.blueprintHash?.slice(0, 12) ?? '?'}${computed === args?.blueprintHash ? '' : ', HASH MISMATCH'})`,
      {
        goal: this.bp?.name ?? null,
        workflowType: (a.workflowType as { name?: string } | undefined)?.name ?? null,
        taskQueue: (a.taskQueue as { name?: string } | undefined)?.name ?? null,
        identity: a.identity ?? null,
        startedBy,
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
      `${agent} → ${req?.settings?.model ?? '?'}: ${what}${tokens ? ` · ${tokens.input}+${tokens.output} tokens · ${usd(cost ?? 0)}` : ''}${reply?.content ? ` · "${clip(reply.content, 70)}"` : ''}`,
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
      const match = free.find((c) => canonical(c.args) === canonical(req?.args)) ?? free[0];
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

  private emitUnrunCall(loc: Located, c: CallState): void {
    c.emitted = true;
    const spec = this.bp?.tools[c.call.name];
    const permitted = this.bp?.agents[c.agent]?.tools.includes(c.call.name) ?? false;
    const told = c.told;
    const outcome =
      told === undefined
        ? 'unknown'
        : /^refused/i.test(told)
          ? 'refused'
          : /^not run/i.test(told)
            ? 'not_run'
            : /^error/i.test(told)
              ? 'invalid'
              : 'handled';
    const approvalId = c.approvalId ?? /approval (\S+) was/.exec(told ?? '')?.[1];
    this.emit(
      loc,
      AuditKind.ToolCall,
      `agent:${c.agent}`,
      `${c.agent}: ${c.call.name} ${compact(c.args, 60)} → ${told ? clip(told, 100) : 'no outcome recorded (the goal ended first)'}`,
      {
        agent: c.agent,
        tool: c.call.name,
        callId: c.call.id,
        args: c.args,
        outcome,
        ranActivity: false,
        toolDefined: spec !== undefined,
        agentPermitted: permitted,
        decidedBy: outcome === 'handled' ? 'workflow' : 'baton',
        told: told ?? null,
        ...(approvalId ? { approvalId } : {}),
      },
    );
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
    const took = seconds(typeof data.totalMs === 'number' ? data.totalMs : undefined);
    const outcome = result
      ? clip(result.output.split('\n')[0] ?? '', 40)
      : failure
        ? `failed: ${failure.message}`
        : status;
    const approvalId = this.approvalFor(call);
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
        sideEffect: req?.spec?.sideEffect ?? null,
        idempotencyKey: result?.idempotencyKey ?? null,
        result: result ? { output: result.output, status: result.status ?? null, truncated: result.truncated } : null,
        ...(approvalId ? { approvalId } : {}),
        ...data,
      },
      events,
    );
  }

  private approvalFor(call: CallState | undefined): string | undefined {
    return call?.approvalId;
  }

  private upsert(loc: Located): void {
    const fields = (loc.ev.attrs.searchAttributes as { indexedFields?: Record<string, unknown> } | undefined)
      ?.indexedFields;
    if (!fields) return;
    const before = this.published.status;
    const read = (name: string): unknown =>
      fields[name] === undefined ? undefined : firstPayload({ payloads: [fields[name]] });
    const status = read('BatonStatus');
    const approvers = read('BatonApprovers');
    const cost = read('BatonCostUsd');
    if (typeof status === 'string') this.published.status = status;
    if (Array.isArray(approvers)) this.published.approvers = approvers.map(String);
    if (typeof cost === 'number') this.published.costUsd = cost;
    const now = this.published.status;
    if (now === 'awaiting_approval' && before !== 'awaiting_approval') this.approvalOpened(loc);
    else if (now === 'awaiting_approval' && Array.isArray(approvers)) {
      const current = this.open.at(-1)?.record;
      if (current) current.eligible = approvers.map(String);
    } else if (before === 'awaiting_approval' && now !== 'awaiting_approval') {
      // Status left awaiting_approval: whatever was open is settled, even where history does not say how.
      this.open = [];
    }
  }

  private approvalOpened(loc: Located): void {
    const batch = this.batch;
    const input = this.args?.input;
    const candidate = batch?.calls.find((c) => {
      if (c.emitted || c.approvalId) return false;
      if (c.activity && c.activity.scheduled.pos < loc.pos) return false;
      const spec = this.bp?.tools[c.call.name];
      if (!spec?.approval || !this.bp?.agents[c.agent]?.tools.includes(c.call.name)) return false;
      return needsApproval(spec.approval, c.args, input).required;
    });
    if (candidate) this.flushBatch(loc, candidate.index);
    const tool = candidate?.call.name ?? BUDGET_TOOL;
    const policy = candidate ? this.bp?.tools[candidate.call.name]?.approval : undefined;
    const reported = this.reportedRecord(loc, tool);
    const id =
      /approval (\S+) was/.exec(candidate?.told ?? '')?.[1] ?? reported?.id ?? `apr-${this.approvals.length + 1}`;
    if (candidate) candidate.approvalId = id;
    const timeoutMs = policy?.timeout === undefined ? undefined : blueprintDurationMs(policy.timeout);
    const deadline =
      reported?.deadline ??
      (timeoutMs === undefined ? undefined : new Date(Date.parse(loc.ev.time) + timeoutMs).toISOString());
    const record: ApprovalRecord = {
      id,
      tool,
      args: candidate?.args ?? reported?.args ?? null,
      reason: batch?.reply.content ?? reported?.reason ?? '',
      requestedBy: candidate?.agent ?? reported?.requestedBy ?? 'baton',
      approvers: policy ? [...policy.approvers] : [...(reported?.approvers ?? [])],
      eligible:
        this.published.approvers ?? (policy && this.bp ? resolveApprovers(policy.approvers, this.bp.approvers) : []),
      quorum: policy?.quorum ?? reported?.quorum ?? 1,
      votes: [],
      status: 'pending',
      openedAt: reported?.openedAt ?? loc.ev.time,
      ...(deadline === undefined ? {} : { deadline }),
      events: [],
    };
    this.approvals.push(record);
    this.open.push({ record, ...(policy ? { policy } : {}), reminders: 0, escalations: 0 });
    this.emit(
      loc,
      AuditKind.ApprovalRequested,
      candidate ? `agent:${candidate.agent}` : 'baton',
      `${id}: ${tool} ${compact(record.args, 60)} waits for ${record.eligible.join(', ') || 'an approver'}${record.quorum > 1 ? ` (quorum ${record.quorum})` : ''}${record.deadline ? `, deadline ${record.deadline}` : ''}`,
      {
        approvalId: id,
        tool,
        args: record.args,
        reason: record.reason,
        requestedBy: record.requestedBy,
        approvers: record.approvers,
        eligible: record.eligible,
        quorum: record.quorum,
        deadline: record.deadline ?? null,
        policy: policy ?? null,
      },
    );
  }

  /** The record a later `decide` update returned for an approval of `tool` opened at `loc`: the workflow's own. */
  private reportedRecord(loc: Located, tool: string): ApprovalRecord | undefined {
    const known = new Set(this.approvals.map((r) => r.id));
    for (const done of new Set(this.updateOutcomes.values())) {
      if (done.pos < loc.pos) continue;
      const record = firstPayload((done.ev.attrs.outcome as { success?: unknown } | undefined)?.success) as
        ApprovalRecord | undefined;
      if (record?.id && record.tool === tool && !known.has(record.id)) return record;
    }
    return undefined;
  }

  private decisionSummary(d: ApprovalDecision, via: string, outcome: string, reason?: string, status?: string): string {
    const verb = d?.decision === 'reject' ? 'rejected' : d?.decision === 'approve' ? 'approved' : String(d?.decision);
    const what = `${String(d?.by)} ${outcome === 'accepted' ? verb : `tried to ${String(d?.decision)}`} ${String(d?.approvalId)} (${via})`;
    const comment = d?.comment ? `: "${d.comment}"` : '';
    if (outcome !== 'accepted') return `${what}${comment} → refused: ${reason ?? 'unknown reason'}`;
    return `${what}${comment}${status && status !== 'pending' ? ` → ${status}` : ' → vote counted'}`;
  }

  private signaled(loc: Located): void {
    const a = loc.ev.attrs;
    const name = text(a.signalName);
    const payloads = decodePayloads(a.input);
    if (name !== 'approval') {
      return this.emit(
        loc,
        AuditKind.Signal,
        text(a.identity, 'unknown client'),
        `signal ${name} ${compact(payloads[0], 60)}`,
        {
          name,
          input: payloads,
          identity: a.identity ?? null,
        },
      );
    }
    const d = payloads[0] as ApprovalDecision;
    const reason = refusalReason(this.approvals, d);
    const record = reason === undefined ? this.approvals.find((r) => r.id === d.approvalId) : undefined;
    if (record) {
      applyVote(record, {
        by: d.by,
        decision: d.decision,
        ...(d.comment ? { comment: d.comment } : {}),
        at: loc.ev.time,
        via: 'signal',
      });
      this.settled(record);
    }
    const outcome = record ? 'accepted' : 'refused';
    this.emit(
      loc,
      AuditKind.ApprovalDecision,
      `user:${String(d?.by)}`,
      this.decisionSummary(d, 'signal', outcome, reason, record?.status),
      {
        via: 'signal',
        approvalId: d?.approvalId ?? null,
        decision: d?.decision ?? null,
        by: d?.by ?? null,
        comment: d?.comment ?? null,
        identity: a.identity ?? null,
        outcome,
        ...(reason === undefined ? {} : { refusal: reason }),
        approvalStatus: record?.status ?? null,
        derived: 'outcome replayed from history with the approval rules',
      },
    );
  }

  private updateAccepted(loc: Located): void {
    const a = loc.ev.attrs;
    const request = a.acceptedRequest as
      { meta?: { updateId?: string; identity?: string }; input?: { name?: string; args?: unknown } } | undefined;
    const name = String(request?.input?.name ?? '');
    const args = decodePayloads(request?.input?.args);
    const identity = request?.meta?.identity ?? null;
    const done =
      this.updateOutcomes.get(this.key(loc, loc.ev.id)) ??
      this.updateOutcomes.get(`${loc.run}:update:${request?.meta?.updateId ?? ''}`);
    const outcomeAttr = done?.ev.attrs.outcome as { success?: unknown; failure?: unknown } | undefined;
    const success = outcomeAttr?.success ? firstPayload(outcomeAttr.success) : undefined;
    const failure = outcomeAttr?.failure ? failureInfo(outcomeAttr.failure) : undefined;
    const events = [loc.ev.id, ...(done ? [done.ev.id] : [])];
    if (name !== 'decide') {
      return this.emit(
        loc,
        AuditKind.Update,
        identity ?? 'unknown client',
        `update ${name} ${compact(args[0], 60)}${failure ? ` → failed: ${failure.message}` : ''}`,
        {
          name,
          input: args,
          identity,
          updateId: request?.meta?.updateId ?? null,
          result: success ?? null,
          failure: failure ?? null,
        },
        events,
      );
    }
    const d = args[0] as ApprovalDecision;
    let status: string | undefined;
    if (success && typeof success === 'object' && 'id' in success) {
      const record = success as ApprovalRecord;
      const index = this.approvals.findIndex((r) => r.id === record.id);
      const copy = { ...record, votes: [...record.votes], events: [...record.events] };
      if (index >= 0) this.approvals[index] = copy;
      else this.approvals.push(copy);
      const open = this.open.find((o) => o.record.id === record.id);
      if (open) open.record = copy;
      status = record.status;
      this.settled(copy);
    }
    const outcome = !done ? 'pending' : failure ? 'refused' : 'accepted';
    this.emit(
      loc,
      AuditKind.ApprovalDecision,
      `user:${String(d?.by)}`,
      outcome === 'pending'
        ? `${String(d?.by)} ${String(d?.decision)}s ${String(d?.approvalId)} (update, in progress)`
        : this.decisionSummary(d, 'update', outcome, failure?.message, status),
      {
        via: 'update',
        approvalId: d?.approvalId ?? null,
        decision: d?.decision ?? null,
        by: d?.by ?? null,
        comment: d?.comment ?? null,
        identity,
        updateId: request?.meta?.updateId ?? null,
        outcome,
        ...(failure ? { refusal: failure.message } : {}),
        approvalStatus: status ?? null,
        completedAt: done?.ev.time ?? null,
      },
      events,
    );
  }

  private settled(record: ApprovalRecord): void {
    if (record.status === 'pending') return;
    this.open = this.open.filter((o) => o.record.id !== record.id);
  }

  /** A timer fired: while an approval waits, the workflow's schedule says whether it was a reminder, escalation or deadline. */
  private timerFired(loc: Located): void {
    const startedLoc = this.timersStarted.get(`${loc.run}:${String(loc.ev.attrs.timerId)}`);
    const summary = startedLoc?.ev.summary;
    const waitedMs = durationMs(startedLoc?.ev.attrs.startToFireTimeout);
    const events = [...(startedLoc ? [startedLoc.ev.id] : []), loc.ev.id];
    const open = this.open.at(-1);
    const kind = open ? this.classifyTimer(open, summary, loc) : undefined;
    if (!open || !kind) {
      if (summary) {
        this.emit(
          loc,
          AuditKind.Timer,
          'baton',
          `timer fired: ${summary}`,
          { summary, waitedMs: waitedMs ?? null },
          events,
        );
      }
      return;
    }
    const record = open.record;
    const common = {
      approvalId: record.id,
      tool: record.tool,
      waitedMs: waitedMs ?? null,
      timerSummary: summary ?? null,
    };
    if (kind === 'reminder') {
      open.reminders += 1;
      record.events.push({ kind: 'reminder', at: loc.ev.time, to: [...record.eligible] });
      this.emit(
        loc,
        AuditKind.ApprovalReminder,
        'baton',
        `${record.id}: reminder ${open.reminders} to ${record.eligible.join(', ')}`,
        {
          ...common,
          to: [...record.eligible],
          count: open.reminders,
        },
        events,
      );
    } else if (kind === 'escalation') {
      const step = open.policy?.escalate[open.escalations];
      open.escalations += 1;
      const to = step?.to ?? [];
      record.approvers = [...new Set([...record.approvers, ...to])];
      if (this.bp) record.eligible = resolveApprovers(record.approvers, this.bp.approvers);
      record.events.push({ kind: 'escalation', at: loc.ev.time, to: [...to] });
      this.emit(
        loc,
        AuditKind.ApprovalEscalation,
        'baton',
        `${record.id}: escalated after ${step?.after ?? '?'} to ${to.join(', ')}`,
        {
          ...common,
          to,
          after: step?.after ?? null,
          eligible: [...record.eligible],
        },
        events,
      );
    } else {
      record.status = 'timed_out';
      record.decidedAt = loc.ev.time;
      record.events.push({ kind: 'timeout', at: loc.ev.time });
      this.settled(record);
      const onTimeout = open.policy?.onTimeout ?? 'reject';
      this.emit(
        loc,
        AuditKind.ApprovalTimeout,
        'baton',
        `${record.id}: nobody decided by the deadline; ${onTimeout === 'cancel' ? 'the goal is cancelled' : 'treated as rejected'}`,
        {
          ...common,
          deadline: record.deadline ?? null,
          onTimeout,
        },
        events,
      );
    }
  }

  private classifyTimer(open: OpenApproval, summary: string | undefined, loc: Located): string | undefined {
    if (summary) {
      if (/remind/i.test(summary)) return 'reminder';
      if (/escalat/i.test(summary)) return 'escalation';
      if (/timeout|deadline|timed out/i.test(summary)) return 'timeout';
    }
    const policy = open.policy;
    if (!policy) return undefined;
    // The same schedule the workflow keeps: the earliest of the next reminder, next escalation and the deadline.
    const remind = policy.remind === undefined ? Infinity : blueprintDurationMs(policy.remind);
    const nextReminder = remind === Infinity ? Infinity : (open.reminders + 1) * remind;
    const step = policy.escalate[open.escalations];
    const nextEscalation = step ? blueprintDurationMs(step.after) : Infinity;
    const deadline = policy.timeout === undefined ? Infinity : blueprintDurationMs(policy.timeout);
    const wake = Math.min(nextReminder, nextEscalation, deadline);
    if (wake === Infinity) return undefined;
    const elapsed = msBetween(open.record.openedAt, loc.ev.time);
    if (Math.abs(elapsed - wake) > Math.max(5_000, wake * 0.02)) return undefined;
    return wake === deadline ? 'timeout' : wake === nextEscalation ? 'escalation' : 'reminder';
  }

  private closeRun(loc: Located): void {
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
    this.emit(loc, AuditKind.GoalFinished, actor, `${status}${said ? `: ${clip(said, 100)}` : ''}`, {
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
