/**
 * The goal workflow: the agent loop. It decides and never does I/O: model and tool calls are activities, approvals
 * and human replies are signals and updates, delegated sub-tasks are child workflows, waiting is durable timers.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { Activities, ModelReply, ToolDescriptor } from '../activities/index.js';
import type { AgentSpec, Blueprint, Limits, ToolSpec } from '../blueprint/schema.js';
import { ApprovalDesk, GoalCancelledByPolicy, installApprovalHandlers } from './approval-wait.js';
import { refusalForAgent, resolveApprovers } from './approvals.js';
import { checkArguments, parseJsonArguments, parserForJsonSchema } from './arguments.js';
import { describeExceeded, exceeded, extendLimits, limitsOf, newBudget, taskShare } from './budget.js';
import {
  replySignal,
  replyUpdate,
  stateQuery,
  taskStatusSignal,
  type ApprovalRecord,
  type BudgetState,
  type ChatMessage,
  type GoalArgs,
  type GoalResult,
  type GoalState,
  type GoalStatus,
  type HandoffRecord,
  type HumanReply,
  type MemoryEntry,
  type PlanRecord,
  type QuestionRecord,
  type RefusalRecord,
  type RefusedDecision,
  type RefusedReply,
  type TaskRecord,
  type TaskStatusReport,
  type ToolCallRequest,
  type Usage,
  type ValidationState,
} from './definitions.js';
import { runTasks, taskWorkflowId } from './delegation.js';
import { durationMs } from './durations.js';
import {
  type acceptArgs,
  type askHumanArgs,
  type delegateArgs,
  type handoffArgs,
  isKnownTool,
  jsonSchemaOf,
  type memoryReadArgs,
  type memoryWriteArgs,
  offeredTools,
  type planArgs,
  type rejectArgs,
  type ToolOffer,
} from './engine-tools.js';
import { mergeMemory, readMemory, writeMemory } from './memory.js';
import { needsApproval } from './policy.js';
import { replyRefusalReason } from './questions.js';
import { BatonApprovers, BatonCostUsd, BatonGoal, BatonStatus } from './search-attributes.js';
import { compactionSplit, promptBudget, requestTokens, SUMMARY_HEADING, summaryMessages } from './context-budget.js';
import { contextWindow, openingMessage, systemPrompt } from './transcript.js';
import { judge, propose } from './validation.js';
import { inlineValue } from './summaries.js';

/** Retry profile of model calls: transient endpoint failures retry with backoff; bad requests do not. */
const modelCall = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 8,
    nonRetryableErrorTypes: ['ModelInvocationError.Rejected', 'ModelInvocationError.Auth'],
  },
} as const satisfies ActivityOptions;

/** Retry profile of tool calls; each call narrows it by the tool's side-effect class and timeout. */
const toolCall = {
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
} as const satisfies ActivityOptions;

const { callModel } = proxyActivities<Activities>(modelCall);
const { runTool, describeBuiltins } = proxyActivities<Activities>(toolCall);

/** Failure types a goal can end with. */
export const GoalFailure = {
  BudgetExceeded: 'BudgetExceeded',
  ModelOutput: 'ModelOutputInvalid',
  ValidationFailed: 'ValidationFailed',
  Cancelled: 'GoalCancelled',
} as const;

const FINAL: readonly GoalStatus[] = ['completed', 'failed', 'cancelled'];

function toolRetry(spec: ToolSpec): ActivityOptions['retry'] {
  const attempts = spec.sideEffect === 'unsafe' ? 1 : (spec.retry?.maximumAttempts ?? toolCall.retry.maximumAttempts);
  return {
    ...toolCall.retry,
    ...(spec.retry ?? {}),
    maximumAttempts: attempts,
    nonRetryableErrorTypes: ['InvalidToolArguments', 'MissingSecret', 'UnknownBuiltin'],
  };
}

/** What one tool call gives back to the model, and what it means for the rest of the turn. */
interface CallOutcome {
  output: string;
  /** The model got the call wrong and must repair it. */
  repair: boolean;
  /** Set when the turn ends here (handoff, verdict): the reply's later tool calls are not run, for this reason. */
  endsTurn?: string;
}

/** One goal's run: its state and the loop that advances it. */
class Goal {
  readonly bp: Blueprint;
  readonly limits: Limits;
  status: GoalStatus = 'running';
  agent: string;
  step: number;
  usage: Usage;
  readonly desk: ApprovalDesk;
  messages: ChatMessage[];
  result?: GoalResult;
  runIndex: number;
  budget: BudgetState;
  startedAt: number;
  humanWaitMs: number;
  repairs: number;
  plan?: PlanRecord;
  memory: MemoryEntry[];
  handoffs: HandoffRecord[];
  refusals: RefusalRecord[];
  questions: QuestionRecord[];
  refusedReplies: RefusedReply[];
  validation: ValidationState;
  tasks: TaskRecord[];
  private builtinSchemas: Record<string, Record<string, unknown> | null>;
  private readonly parsers = new Map<string, z.ZodType | undefined>();
  /** Messages to add once every tool result of the current reply is in (handoff notes, validator feedback). */
  private notes: ChatMessage[] = [];
  private readonly runStartStep: number;
  /** Search attribute values last written, so unchanged values add no history events. */
  private published = '';
  /** Provider-reported prompt tokens over the estimate of the same prompt (token-aware models); at least 1. */
  private tokenScale = 1;

  constructor(readonly args: GoalArgs) {
    this.bp = args.blueprint;
    this.limits = this.bp.limits;
    const c = args.carried;
    this.agent = c?.agent ?? args.task?.agent ?? this.bp.entry;
    this.step = c?.step ?? 0;
    this.usage = c?.usage ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 };
    this.desk = new ApprovalDesk(this.bp, c, () => this.humansChanged());
    this.messages = c?.messages ?? [];
    this.runIndex = (c?.run ?? 0) + 1;
    this.budget = c?.budget ?? newBudget(args.task?.budget ?? limitsOf(this.bp.budget));
    this.startedAt = c?.startedAt ?? workflowInfo().startTime.getTime();
    this.humanWaitMs = c?.humanWaitMs ?? 0;
    this.repairs = c?.repairs ?? 0;
    if (c?.plan) this.plan = c.plan;
    this.memory = c?.memory ?? [...(args.task?.memory ?? [])];
    this.handoffs = c?.handoffs ?? [];
    this.refusals = c?.refusals ?? [];
    this.questions = c?.questions ?? [];
    this.refusedReplies = c?.refusedReplies ?? [];
    this.validation = c?.validation ?? { rejections: 0, verdicts: [] };
    this.tasks = c?.tasks ?? [];
    this.builtinSchemas = c?.builtinSchemas ?? {};
    this.runStartStep = this.step;
  }

  get approvals(): ApprovalRecord[] {
    return this.desk.records;
  }

  get refusedDecisions(): RefusedDecision[] {
    return this.desk.refused;
  }

  /** An approval or a question opened, changed hands or settled: the status follows whether anything still waits. */
  humansChanged(): void {
    if (this.status !== 'running' && this.status !== 'awaiting_approval') return this.publish();
    const waiting = this.desk.pending().length > 0 || this.questions.some((q) => q.status === 'pending');
    this.setStatus(waiting ? 'awaiting_approval' : 'running');
  }

  get agentSpec(): AgentSpec {
    const spec = this.bp.agents[this.agent];
    if (!spec) throw ApplicationFailure.nonRetryable(`agent "${this.agent}" is not in the blueprint`, 'BlueprintError');
    return spec;
  }

  /** True while this goal is the validator's turn to judge a proposed answer. */
  private get validating(): boolean {
    return !this.args.task && this.agent === this.bp.validator && this.validation.candidate !== undefined;
  }

  private refreshBudget(): void {
    this.budget.used = {
      steps: this.step + this.budget.delegatedSteps,
      tokens: this.usage.inputTokens + this.usage.outputTokens,
      costUsd: this.usage.costUsd,
      durationMs: Math.max(0, Date.now() - this.startedAt - this.humanWaitMs),
    };
  }

  state(): GoalState {
    this.refreshBudget();
    const task = this.args.task;
    return {
      goal: this.bp.name,
      status: this.status,
      agent: this.agent,
      step: this.step,
      pendingApprovals: this.approvals.filter((a) => a.status === 'pending'),
      approvals: this.approvals,
      refusedDecisions: this.refusedDecisions,
      usage: this.usage,
      startedBy: this.args.startedBy,
      ...(this.result ? { result: this.result } : {}),
      run: this.runIndex,
      budget: this.budget,
      ...(this.plan ? { plan: this.plan } : {}),
      memory: this.memory,
      handoffs: this.handoffs,
      refusals: this.refusals,
      questions: this.questions,
      pendingQuestions: this.questions.filter((q) => q.status === 'pending'),
      refusedReplies: this.refusedReplies,
      validation: this.validation,
      tasks: this.tasks,
      ...(task ? { parent: { goalId: task.parentId, taskId: task.taskId, from: task.from } } : {}),
    };
  }

  /** Keeps search attributes and the Web UI's current details in step with the state. */
  publish(): void {
    const pending = this.desk.pending();
    const asked = this.questions.filter((q) => q.status === 'pending');
    const approvers = [...new Set([...this.desk.waitingOn(), ...asked.flatMap((q) => q.eligible)])].sort();
    const cost = Math.round(this.usage.costUsd * 1e6) / 1e6;
    const snapshot = JSON.stringify([this.status, approvers, cost]);
    if (snapshot !== this.published) {
      this.published = snapshot;
      upsertSearchAttributes([
        { key: BatonGoal, value: this.bp.name },
        { key: BatonStatus, value: this.status },
        { key: BatonApprovers, value: approvers },
        { key: BatonCostUsd, value: cost },
      ]);
    }
    const lines = [
      `**${this.bp.name}** · ${this.status} · agent ${this.agent} · step ${this.step} · run ${this.runIndex}`,
      `tokens ${this.usage.inputTokens} in / ${this.usage.outputTokens} out · $${this.usage.costUsd.toFixed(4)}`,
      ...pending.map((a) => `waiting: ${a.id} ${a.tool} ${inlineValue(a.args, 60)} for ${a.eligible.join(', ')}`),
      ...asked.map((q) => `asking: ${q.id} ${inlineValue(q.question, 60)} of ${q.eligible.join(', ')}`),
      ...this.tasks.map((t) => `task ${t.id} ${t.agent} · ${t.status} · ${t.workflowId}`),
    ];
    if (this.plan)
      lines.push(`plan r${this.plan.revision}: ${this.plan.steps.map((s) => `[${s.status}] ${s.task}`).join('; ')}`);
    if (this.result) lines.push(`result: ${this.result.answer ?? this.result.reason ?? this.result.status}`);
    setCurrentDetails(lines.join('\n'));
  }

  setStatus(status: GoalStatus): void {
    const changed = status !== this.status;
    this.status = status;
    this.publish();
    if (changed && this.args.task && !FINAL.includes(status)) {
      const report: TaskStatusReport = { workflowId: workflowInfo().workflowId, status };
      // The parent learns the final status from the child's result; this only keeps its view current meanwhile.
      void getExternalWorkflowHandle(this.args.task.parentId)
        .signal(taskStatusSignal, report)
        .catch(() => undefined);
    }
  }

  /** Records a human's answer to a question, or the refusal of an invalid one. */
  answer(reply: HumanReply, via: 'signal' | 'update'): QuestionRecord | undefined {
    const at = new Date().toISOString();
    const reason = replyRefusalReason(this.questions, reply);
    if (reason !== undefined) {
      this.refusedReplies.push({ questionId: String(reply?.questionId), by: String(reply?.by), reason, at, via });
      return undefined;
    }
    const q = this.questions.find((x) => x.id === reply.questionId);
    if (!q) return undefined;
    Object.assign(q, { status: 'answered', answer: reply.answer, by: reply.by, answeredAt: at, via });
    return q;
  }

  /** A delegated task reports a status change while it runs. */
  onTaskStatus(report: TaskStatusReport): void {
    const task = this.tasks.find((t) => t.workflowId === report?.workflowId);
    if (!task || FINAL.includes(task.status as GoalStatus) || FINAL.includes(report.status)) return;
    task.status = report.status;
    this.publish();
  }

  private addUsage(reply: ModelReply, agent: AgentSpec): void {
    const price = this.bp.models[agent.model]?.price;
    this.usage.inputTokens += reply.usage.inputTokens;
    this.usage.outputTokens += reply.usage.outputTokens;
    if (price) {
      this.usage.costUsd += (reply.usage.inputTokens * price.input + reply.usage.outputTokens * price.output) / 1e6;
    }
  }

  private offers(agent: AgentSpec): Map<string, ToolOffer> {
    return offeredTools(this.bp, agent, {
      validating: this.validating,
      isTask: this.args.task !== undefined,
      parallelTasks: this.limits.parallelTasks,
    });
  }

  private blueprintParameters(name: string): Record<string, unknown> | undefined {
    const spec = this.bp.tools[name];
    if (!spec) return undefined;
    return spec.type === 'http' ? spec.parameters : (this.builtinSchemas[spec.function ?? name] ?? undefined);
  }

  private tools(offers: Map<string, ToolOffer>): ToolDescriptor[] {
    return [...offers].map(([name, offer]): ToolDescriptor => {
      const parameters = offer.schema
        ? jsonSchemaOf(offer.schema)
        : (this.blueprintParameters(name) ?? { type: 'object' });
      return { name, description: offer.description, parameters };
    });
  }

  private parserFor(name: string): z.ZodType | undefined {
    if (!this.parsers.has(name)) {
      const schema = this.blueprintParameters(name);
      this.parsers.set(name, schema ? parserForJsonSchema(schema) : undefined);
    }
    return this.parsers.get(name);
  }

  /** Stops the goal for good if a budget is used up and no human extends it. */
  private async ensureBudget(): Promise<void> {
    for (;;) {
      this.refreshBudget();
      const over = exceeded(this.budget);
      if (over.length === 0) return;
      const what = `${describeExceeded(this.budget, over)} at step ${this.step} (agent ${this.agent})`;
      const policy = this.bp.budget.approval;
      if (this.args.task || this.bp.budget.onExceeded === 'fail' || !policy) {
        this.fail(`${what}; raise the budget in the blueprint`, GoalFailure.BudgetExceeded);
      }
      const original = limitsOf(this.bp.budget);
      const extendTo = extendLimits(this.budget.limits, original, over);
      const record = await this.waitingOnHumans(() =>
        this.desk.request({
          tool: 'budget',
          args: { exceeded: over, used: this.budget.used, limits: this.budget.limits, extendTo },
          reason: `${what}; approve to extend the budget`,
          requestedBy: this.agent,
          policy,
        }),
      );
      if (record.status === 'approved') {
        this.budget.limits = extendTo;
        this.budget.extensions.push({
          approvalId: record.id,
          exceeded: over,
          limits: extendTo,
          at: new Date().toISOString(),
        });
        continue;
      }
      this.fail(`${what}; the extension ${record.id} was ${this.approvalOutcome(record)}`, GoalFailure.BudgetExceeded);
    }
  }

  fail(reason: string, type: string): never {
    this.result = { status: 'failed', reason, ...this.summary() };
    this.setStatus('failed');
    throw ApplicationFailure.create({ message: reason, type, nonRetryable: true, details: [this.result] });
  }

  summary(): Pick<GoalResult, 'approvals' | 'usage' | 'steps'> {
    return {
      approvals: this.approvals.map((a) => ({
        id: a.id,
        tool: a.tool,
        status: a.status,
        by: a.votes.map((v) => v.by),
        comments: a.votes.flatMap((v) => (v.comment ? [v.comment] : [])),
      })),
      usage: this.usage,
      steps: this.step + this.budget.delegatedSteps,
    };
  }

  /** Runs a wait on humans, keeping its time out of the duration budget. */
  private async waitingOnHumans<T>(wait: () => Promise<T>): Promise<T> {
    const since = Date.now();
    try {
      return await wait();
    } finally {
      this.humanWaitMs += Date.now() - since;
    }
  }

  private approvalOutcome(record: ApprovalRecord): string {
    if (record.status === 'timed_out') return 'not decided before the deadline';
    const last = record.votes.at(-1);
    return `rejected by ${last?.by ?? 'an approver'}${last?.comment ? `: ${last.comment}` : ''}`;
  }

  /** Records a refused or unusable call and returns what the model is told. */
  private refuse(
    actor: string,
    call: ToolCallRequest,
    kind: RefusalRecord['kind'],
    output: string,
    repair: boolean,
  ): CallOutcome {
    this.refusals.push({
      agent: actor,
      step: this.step,
      tool: call.name,
      kind,
      reason: output,
      at: new Date().toISOString(),
    });
    return { output, repair };
  }

  /** Checks one tool call the model asked for against the agent's permissions and the tool's schema, then runs it. */
  private async dispatch(
    call: ToolCallRequest,
    actor: string,
    offers: Map<string, ToolOffer>,
    reason: string,
  ): Promise<CallOutcome> {
    const offer = offers.get(call.name);
    if (!offer) {
      if (isKnownTool(this.bp, call.name)) {
        return this.refuse(
          actor,
          call,
          'not_permitted',
          `refused: agent ${actor} is not permitted to use ${call.name}`,
          false,
        );
      }
      return this.refuse(
        actor,
        call,
        'unknown_tool',
        `error: there is no tool "${call.name}"; your tools: ${[...offers.keys()].join(', ') || 'none'}`,
        true,
      );
    }
    const json = parseJsonArguments(call.arguments);
    if (!json.ok) return this.refuse(actor, call, 'invalid_arguments', json.error, true);
    const checked = checkArguments(call.name, offer.schema ?? this.parserFor(call.name), json.value);
    if (!checked.ok) return this.refuse(actor, call, 'invalid_arguments', checked.error, true);
    const tool = offer.tool;
    if (tool.kind === 'blueprint') return this.runBlueprintTool(call, actor, json.value, reason);

    await this.ensureBudget();
    this.step += 1;
    const at = new Date().toISOString();
    switch (tool.kind) {
      case 'memory_write': {
        const a = checked.value as z.output<typeof memoryWriteArgs>;
        const entry: MemoryEntry = { key: a.key, value: a.value, agent: actor, step: this.step, at };
        if (this.args.task) entry.task = this.args.task.taskId;
        return { output: writeMemory(this.memory, entry, this.limits.memoryEntries).output, repair: false };
      }
      case 'memory_read':
        return { output: readMemory(this.memory, checked.value as z.output<typeof memoryReadArgs>), repair: false };
      case 'plan': {
        const a = checked.value as z.output<typeof planArgs>;
        const revision = (this.plan?.revision ?? 0) + 1;
        this.plan = { agent: actor, step: this.step, at, revision, steps: a.steps };
        this.publish();
        return { output: `plan recorded (revision ${revision}, ${a.steps.length} steps)`, repair: false };
      }
      case 'handoff': {
        const a = checked.value as z.output<typeof handoffArgs>;
        this.handoffs.push({ from: actor, to: tool.to, note: a.note, step: this.step, at });
        this.agent = tool.to;
        this.notes.push({ role: 'user', content: `[handoff from ${actor} to ${tool.to}] ${a.note}` });
        this.publish();
        return { output: `handed off to ${tool.to}`, repair: false, endsTurn: `the goal was handed off to ${tool.to}` };
      }
      case 'ask_human':
        return this.askHuman(actor, (checked.value as z.output<typeof askHumanArgs>).question);
      case 'delegate':
        return this.delegate(actor, (checked.value as z.output<ReturnType<typeof delegateArgs>>).tasks);
      case 'accept_answer':
      case 'reject_answer': {
        const verdict =
          tool.kind === 'accept_answer'
            ? { accepted: true as const, ...(checked.value as z.output<typeof acceptArgs>) }
            : { accepted: false as const, ...(checked.value as z.output<typeof rejectArgs>) };
        const v = judge(this.validation, verdict, actor, this.step, at, this.limits.validationRounds);
        switch (v.kind) {
          case 'none':
            return { output: 'error: there is no answer waiting for a verdict', repair: true };
          case 'exhausted':
            return this.fail(v.reason, GoalFailure.ValidationFailed);
          case 'accepted':
            this.complete(v.answer, v.by, actor);
            return { output: 'accepted: the goal is complete', repair: false, endsTurn: 'the goal is complete' };
          case 'rejected':
            this.agent = v.by;
            this.notes.push(v.feedback);
            this.publish();
            return {
              output: `sent back to ${v.by} with your feedback`,
              repair: false,
              endsTurn: `the answer went back to ${v.by}`,
            };
        }
      }
    }
  }

  /** A blueprint tool: approval when its policy asks for it, then an activity with its retry profile. */
  private async runBlueprintTool(
    call: ToolCallRequest,
    actor: string,
    args: unknown,
    reason: string,
  ): Promise<CallOutcome> {
    const spec = this.bp.tools[call.name];
    if (!spec) return this.refuse(actor, call, 'unknown_tool', `error: there is no tool "${call.name}"`, true);
    await this.ensureBudget();
    const policy = needsApproval(spec.approval, args, this.args.input);
    if (policy.required && spec.approval) {
      const approval = spec.approval;
      const record = await this.waitingOnHumans(() =>
        this.desk.request({
          tool: call.name,
          args,
          reason: [reason, policy.note].filter(Boolean).join(' '),
          requestedBy: actor,
          policy: approval,
        }),
      );
      const refusal = refusalForAgent(record, approval);
      if (refusal !== undefined) return this.refuse(actor, call, 'not_run', refusal, false);
    }
    this.step += 1;
    try {
      const result = await runTool.executeWithOptions(
        {
          activityId: `tool-${this.step}-${call.name}`,
          summary: `${actor}: ${call.name} ${inlineValue(args)}`,
          startToCloseTimeout: durationMs(spec.timeout) + 5_000,
          retry: toolRetry(spec),
        },
        [{ goal: this.bp.name, agent: actor, tool: call.name, spec, args }],
      );
      return { output: result.output, repair: false };
    } catch (err) {
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
        const repair = err.cause.type === 'InvalidToolArguments';
        if (repair) return this.refuse(actor, call, 'invalid_arguments', `error: ${err.cause.message}`, true);
        return { output: `error: ${err.cause.message}`, repair: false };
      }
      throw err;
    }
  }

  /** ask_human: opens a question, waits for a `reply` (or the timeout), and tells the model the answer. */
  private async askHuman(actor: string, question: string): Promise<CallOutcome> {
    const settings = this.bp.agents[actor]?.askHuman;
    if (!settings) return { output: 'error: this agent has no askHuman settings', repair: false };
    const asked = Date.now();
    const timeoutMs = settings.timeout === undefined ? undefined : durationMs(settings.timeout);
    const q: QuestionRecord = {
      id: `q-${this.questions.length + 1}`,
      agent: actor,
      step: this.step,
      question,
      to: [...settings.to],
      eligible: resolveApprovers(settings.to, this.bp.approvers),
      status: 'pending',
      askedAt: new Date(asked).toISOString(),
      ...(timeoutMs === undefined ? {} : { deadline: new Date(asked + timeoutMs).toISOString() }),
    };
    this.questions.push(q);
    this.setStatus('awaiting_approval');
    const answered = await this.waitingOnHumans(async () => {
      const settled = () => q.status !== 'pending';
      if (timeoutMs === undefined) {
        await condition(settled);
        return true;
      }
      return condition(settled, timeoutMs);
    });
    if (!answered) q.status = 'timed_out';
    this.humansChanged();
    return answered
      ? { output: `answer from ${q.by ?? 'a human'} to ${q.id}: ${q.answer ?? ''}`, repair: false }
      : {
          output: `no answer to ${q.id} from ${q.eligible.join(', ')} within ${settings.timeout}; go on without it and say what is unconfirmed`,
          repair: false,
        };
  }

  /** delegate: starts the sub-tasks as child goals, at the same time, and gathers their results. */
  private async delegate(actor: string, tasks: { agent: string; task: string }[]): Promise<CallOutcome> {
    this.refreshBudget();
    const share = taskShare(this.budget, tasks.length);
    if (typeof share === 'string') return { output: `error: ${share}`, repair: false };
    const parentId = workflowInfo().workflowId;
    const records = tasks.map((t): TaskRecord => {
      const id = `t-${this.tasks.length + 1}`;
      const record: TaskRecord = {
        id,
        workflowId: taskWorkflowId(parentId, id, t.agent),
        agent: t.agent,
        task: t.task,
        status: 'starting',
        budget: share,
        startedAtStep: this.step,
      };
      this.tasks.push(record);
      return record;
    });
    this.publish();
    const outcomes = await runTasks(
      records.map((r) => ({
        workflowId: r.workflowId,
        summary: `${r.agent}: ${inlineValue(r.task, 100)}`,
        args: {
          blueprint: this.bp,
          input: this.args.input,
          blueprintHash: this.args.blueprintHash,
          startedBy: this.args.startedBy,
          task: {
            parentId,
            taskId: r.id,
            agent: r.agent,
            from: actor,
            task: r.task,
            budget: share,
            memory: this.memory.map((e) => ({ ...e })),
          },
        },
      })),
      (i) => {
        const r = records[i];
        if (r && r.status === 'starting') r.status = 'running';
        this.publish();
      },
    );
    const merged: string[] = [];
    outcomes.forEach((o, i) => {
      const r = records[i];
      if (!r) return;
      Object.assign(
        r,
        { status: o.status },
        o.answer !== undefined ? { answer: o.answer } : {},
        o.reason !== undefined ? { reason: o.reason } : {},
      );
      if (o.usage) {
        r.usage = o.usage;
        this.usage.inputTokens += o.usage.inputTokens;
        this.usage.outputTokens += o.usage.outputTokens;
        this.usage.costUsd += o.usage.costUsd;
      }
      if (o.steps !== undefined) {
        r.steps = o.steps;
        this.budget.delegatedSteps += o.steps;
      }
      if (o.memoryWrites?.length) {
        mergeMemory(this.memory, o.memoryWrites, this.limits.memoryEntries);
        merged.push(...o.memoryWrites.map((e) => e.key));
      }
    });
    this.publish();
    const report = records.map((r) => ({
      task: r.id,
      agent: r.agent,
      status: r.status,
      ...(r.answer !== undefined ? { answer: r.answer } : {}),
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
    }));
    const memoryNote = merged.length ? `\nshared memory updated: ${[...new Set(merged)].join(', ')}` : '';
    return { output: `${JSON.stringify(report)}${memoryNote}`, repair: false };
  }

  private complete(answer: string, by: string, validatedBy?: string): void {
    const task = this.args.task;
    this.result = {
      status: 'completed',
      answer,
      answeredBy: by,
      ...(validatedBy ? { validatedBy } : {}),
      ...this.summary(),
      ...(task ? { memoryWrites: this.memory.filter((e) => e.task === task.taskId) } : {}),
    };
    this.setStatus('completed');
  }

  /** A reply with no tool calls: the final answer, unless the validator must see it first. */
  private finalAnswer(answer: string, actor: string): void {
    const validator = this.bp.validator;
    if (this.args.task || validator === undefined || actor === validator) {
      this.complete(answer, actor, actor === validator && !this.args.task ? actor : undefined);
      return;
    }
    this.messages.push(propose(this.validation, answer, actor, this.step));
    this.agent = validator;
    this.publish();
  }

  /** One model call; when Temporal has given up on it, the goal fails with the agent, step and cause named. */
  private async callModel(
    agent: AgentSpec,
    settings: Blueprint['models'][string],
    tools: ToolDescriptor[],
    system: string,
  ): Promise<ModelReply> {
    try {
      return await callModel.executeWithOptions(
        { activityId: `model-${this.step}`, summary: `${this.agent}: model ${settings.model}` },
        [
          {
            goal: this.bp.name,
            agent: this.agent,
            settings,
            messages: [{ role: 'system', content: system }, ...this.visibleMessages(settings)],
            tools,
          },
        ],
      );
    } catch (err) {
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
        this.fail(
          `model call for agent ${this.agent} at step ${this.step} failed: ${err.cause.message}`,
          err.cause.type ?? 'ModelInvocationError',
        );
      }
      throw err;
    }
  }

  /**
   * The transcript a model call sees. A model with a `contextWindow` sees all of it (compaction keeps it within the
   * window, and the prefix stays stable between compactions); others see the opening message and the latest
   * `contextMessages`.
   */
  private visibleMessages(settings: { contextWindow?: number }): ChatMessage[] {
    return settings.contextWindow === undefined
      ? contextWindow(this.messages, this.limits.contextMessages)
      : this.messages;
  }

  /**
   * Before a call to a model with a `contextWindow`: when the request would not fit, the model summarises the older
   * messages (a model call recorded like any other, its usage counted) and the summary replaces them.
   */
  private async fitContext(
    settings: Blueprint['models'][string],
    agent: AgentSpec,
    tools: ToolDescriptor[],
    system: string,
  ): Promise<void> {
    const budget = promptBudget(settings);
    if (budget === undefined) return;
    const estimate = () => Math.ceil(requestTokens(system, tools, this.messages) * this.tokenScale);
    if (estimate() <= budget || !patched('token-aware-context')) return;
    const [opening, ...rest] = this.messages;
    const split = opening ? compactionSplit(rest, budget - requestTokens(system, tools, [opening])) : undefined;
    if (!opening || !split) return;
    const reply = await callModel.executeWithOptions(
      {
        activityId: `compact-${this.step}`,
        summary: `${this.agent}: compact context (${split.older.length} messages)`,
      },
      [
        {
          goal: this.bp.name,
          agent: this.agent,
          settings,
          messages: summaryMessages(split.older, budget),
          tools: [],
        },
      ],
    );
    this.addUsage(reply, agent);
    this.messages = [opening, { role: 'user', content: `${SUMMARY_HEADING}\n${reply.content ?? ''}` }, ...split.kept];
  }

  /** Learns how the provider's count compares with the estimate of the prompt it was sent. */
  private calibrate(reply: ModelReply, settings: { contextWindow?: number }, tools: ToolDescriptor[], system: string) {
    if (settings.contextWindow === undefined || reply.usage.inputTokens <= 0) return;
    const estimated = requestTokens(system, tools, this.messages);
    this.tokenScale = Math.max(1, reply.usage.inputTokens / estimated);
  }

  /** Counts an unusable reply; past the limit the goal fails, naming the agent, the step and the last problem. */
  private countRepair(problem: string | undefined): void {
    if (problem === undefined) {
      this.repairs = 0;
      return;
    }
    this.repairs += 1;
    if (this.repairs > this.limits.repairs) {
      this.fail(
        `agent ${this.agent} gave ${this.repairs} unusable replies in a row (limit ${this.limits.repairs}), the last at step ${this.step}: ${problem}`,
        GoalFailure.ModelOutput,
      );
    }
  }

  private shouldContinueAsNew(): boolean {
    return workflowInfo().continueAsNewSuggested || this.step - this.runStartStep >= this.limits.stepsPerRun;
  }

  /**
   * Continues as new between steps, where nothing waits: approvals, questions and delegated tasks are awaited
   * inside a step, so none is pending here, and the records carry over as they are. Handlers finish first.
   */
  private async continueAsNew(): Promise<never> {
    await condition(allHandlersFinished);
    await this.desk.drain();
    this.refreshBudget();
    return continueAsNew<typeof goalWorkflow>({
      ...this.args,
      carried: {
        agent: this.agent,
        step: this.step,
        usage: this.usage,
        approvals: this.approvals,
        refusedDecisions: this.refusedDecisions,
        messages: this.visibleMessages(this.bp.models[this.agentSpec.model] ?? {}),
        run: this.runIndex,
        budget: this.budget,
        startedAt: this.startedAt,
        humanWaitMs: this.humanWaitMs,
        repairs: this.repairs,
        ...(this.plan ? { plan: this.plan } : {}),
        memory: this.memory,
        handoffs: this.handoffs,
        refusals: this.refusals,
        questions: this.questions,
        refusedReplies: this.refusedReplies,
        validation: this.validation,
        tasks: this.tasks,
        builtinSchemas: this.builtinSchemas,
      },
    });
  }

  async run(): Promise<GoalResult> {
    if (this.messages.length === 0) {
      this.messages.push({ role: 'user', content: openingMessage(this.args.input, this.args.task) });
    }
    if (!this.args.carried) {
      const builtins = Object.entries(this.bp.tools).flatMap(([n, t]) =>
        t.type === 'builtin' ? [t.function ?? n] : [],
      );
      if (builtins.length) this.builtinSchemas = await describeBuiltins(builtins);
    }
    this.publish();
    for (;;) {
      if (this.shouldContinueAsNew()) await this.continueAsNew();
      await this.ensureBudget();
      const actor = this.agent;
      const agent = this.agentSpec;
      const settings = this.bp.models[agent.model];
      if (!settings)
        throw ApplicationFailure.nonRetryable(`model "${agent.model}" is not in the blueprint`, 'BlueprintError');
      const offers = this.offers(agent);
      this.step += 1;
      const tools = this.tools(offers);
      const system = systemPrompt(this.bp, actor, agent, offers, this.args.task);
      await this.fitContext(settings, agent, tools, system);
      const reply = await this.callModel(agent, settings, tools, system);
      this.calibrate(reply, settings, tools, system);
      this.addUsage(reply, agent);
      this.messages.push({
        role: 'assistant',
        content: reply.content,
        ...(reply.toolCalls.length ? { toolCalls: reply.toolCalls } : {}),
      });
      this.publish();

      if (reply.toolCalls.length === 0) {
        const answer = reply.content?.trim() ?? '';
        if (answer && !this.validating) {
          this.finalAnswer(answer, actor);
          if (this.result) return this.result;
          this.countRepair(undefined);
          continue;
        }
        const problem = answer ? 'a verdict in plain text' : 'an empty reply';
        this.refusals.push({
          agent: actor,
          step: this.step,
          tool: '',
          kind: 'empty_reply',
          reason: problem,
          at: new Date().toISOString(),
        });
        this.countRepair(problem);
        this.messages.push({
          role: 'user',
          content: answer
            ? 'Give your verdict with accept_answer or reject_answer, not as text.'
            : 'Your reply was empty. Call a tool or give the final answer.',
        });
        continue;
      }

      let problem: string | undefined;
      let turnEnded: string | undefined;
      for (const call of reply.toolCalls) {
        if (turnEnded !== undefined) {
          this.messages.push({ role: 'tool', toolCallId: call.id, content: `not run: ${turnEnded}` });
          continue;
        }
        const outcome = await this.dispatch(call, actor, offers, reply.content ?? '');
        if (outcome.repair) problem = `${call.name}: ${outcome.output}`;
        turnEnded = outcome.endsTurn;
        this.messages.push({ role: 'tool', toolCallId: call.id, content: outcome.output });
      }
      this.messages.push(...this.notes.splice(0));
      if (this.result) return this.result;
      this.countRepair(problem);
    }
  }
}

/** Runs one goal to its end: completed with an answer, failed with a reason, or cancelled. */
export async function goalWorkflow(args: GoalArgs): Promise<GoalResult> {
  const goal = new Goal(args);
  setHandler(stateQuery, () => goal.state());
  installApprovalHandlers(goal.desk);
  setHandler(replySignal, (r) => {
    goal.answer(r, 'signal');
    goal.publish();
  });
  setHandler(
    replyUpdate,
    (r) => {
      const q = goal.answer(r, 'update');
      if (!q) throw ApplicationFailure.nonRetryable(replyRefusalReason(goal.questions, r) ?? 'reply refused');
      goal.publish();
      return q;
    },
    {
      validator: (r: HumanReply) => {
        const reason = replyRefusalReason(goal.questions, r);
        if (reason !== undefined) throw new Error(reason);
      },
    },
  );
  setHandler(taskStatusSignal, (report) => goal.onTaskStatus(report));
  try {
    return await goal.run();
  } catch (err) {
    if (err instanceof GoalCancelledByPolicy) {
      for (const t of goal.tasks) if (!FINAL.includes(t.status as GoalStatus)) t.status = 'cancelled';
      goal.result = { status: 'cancelled', reason: err.message, ...goal.summary() };
      goal.setStatus('cancelled');
      return goal.result;
    }
    if (isCancellation(err) && goal.status !== 'cancelled') {
      for (const t of goal.tasks) if (!FINAL.includes(t.status as GoalStatus)) t.status = 'cancelled';
      goal.result = { status: 'cancelled', reason: 'the goal was cancelled', ...goal.summary() };
      goal.setStatus('cancelled');
    }
    throw err;
  } finally {
    await goal.desk.drain();
  }
}
