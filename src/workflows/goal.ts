/**
 * The goal workflow: the agent loop. It decides and never does I/O: model and tool calls are activities, approvals
 * are signals and updates, waiting is durable timers.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities, ModelReply, ToolDescriptor } from '../activities/index.js';
import type { AgentSpec, Blueprint, ToolSpec } from '../blueprint/schema.js';
import { applyVote, refusalReason, resolveApprovers } from './approvals.js';
import {
  approvalSignal,
  decideUpdate,
  stateQuery,
  type ApprovalDecision,
  type ApprovalRecord,
  type ChatMessage,
  type GoalArgs,
  type GoalResult,
  type GoalState,
  type GoalStatus,
  type RefusedDecision,
  type ToolCallRequest,
  type Usage,
} from './definitions.js';
import { durationMs } from './durations.js';
import { needsApproval } from './policy.js';
import { BatonApprovers, BatonCostUsd, BatonGoal, BatonStatus } from './search-attributes.js';
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

/** Consecutive replies the model may get wrong (bad JSON, unknown tool, empty reply) before the goal fails. */
const MAX_REPAIRS = 3;

/** Failure types a goal can end with. */
export const GoalFailure = {
  BudgetExceeded: 'BudgetExceeded',
  ModelOutput: 'ModelOutputInvalid',
  Cancelled: 'GoalCancelled',
} as const;

function toolRetry(spec: ToolSpec): ActivityOptions['retry'] {
  const attempts = spec.sideEffect === 'unsafe' ? 1 : (spec.retry?.maximumAttempts ?? toolCall.retry.maximumAttempts);
  return {
    ...toolCall.retry,
    ...(spec.retry ?? {}),
    maximumAttempts: attempts,
    nonRetryableErrorTypes: ['InvalidToolArguments', 'MissingSecret', 'UnknownBuiltin'],
  };
}

/** One goal's run: its state and the loop that advances it. */
class Goal {
  readonly bp: Blueprint;
  status: GoalStatus = 'running';
  agent: string;
  step: number;
  usage: Usage;
  approvals: ApprovalRecord[];
  refusedDecisions: RefusedDecision[];
  messages: ChatMessage[];
  result?: GoalResult;
  private builtinSchemas: Record<string, Record<string, unknown> | null> = {};
  /** Search attribute values last written, so unchanged values add no history events. */
  private published = '';

  constructor(readonly args: GoalArgs) {
    this.bp = args.blueprint;
    const c = args.carried;
    this.agent = c?.agent ?? this.bp.entry;
    this.step = c?.step ?? 0;
    this.usage = c?.usage ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 };
    this.approvals = c?.approvals ?? [];
    this.refusedDecisions = c?.refusedDecisions ?? [];
    this.messages = c?.messages ?? [];
  }

  get agentSpec(): AgentSpec {
    const spec = this.bp.agents[this.agent];
    if (!spec) throw ApplicationFailure.nonRetryable(`agent "${this.agent}" is not in the blueprint`, 'BlueprintError');
    return spec;
  }

  state(): GoalState {
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
    };
  }

  /** Keeps search attributes and the Web UI's current details in step with the state. */
  publish(): void {
    const pending = this.approvals.filter((a) => a.status === 'pending');
    const approvers = [...new Set(pending.flatMap((a) => a.eligible))].sort();
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
      `**${this.bp.name}** · ${this.status} · agent ${this.agent} · step ${this.step}`,
      `tokens ${this.usage.inputTokens} in / ${this.usage.outputTokens} out · $${this.usage.costUsd.toFixed(4)}`,
      ...pending.map((a) => `waiting: ${a.id} ${a.tool} ${inlineValue(a.args, 60)} for ${a.eligible.join(', ')}`),
    ];
    if (this.result) lines.push(`result: ${this.result.answer ?? this.result.reason ?? this.result.status}`);
    setCurrentDetails(lines.join('\n'));
  }

  setStatus(status: GoalStatus): void {
    this.status = status;
    this.publish();
  }

  decide(decision: ApprovalDecision, via: 'signal' | 'update'): ApprovalRecord | undefined {
    const at = new Date().toISOString();
    const reason = refusalReason(this.approvals, decision);
    if (reason !== undefined) {
      this.refusedDecisions.push({
        approvalId: String(decision?.approvalId),
        by: String(decision?.by),
        decision: String(decision?.decision),
        reason,
        at,
        via,
      });
      return undefined;
    }
    const record = this.approvals.find((a) => a.id === decision.approvalId);
    if (!record) return undefined;
    applyVote(record, {
      by: decision.by,
      decision: decision.decision,
      ...(decision.comment ? { comment: decision.comment } : {}),
      at,
      via,
    });
    return record;
  }

  private addUsage(reply: ModelReply, agent: AgentSpec): void {
    const price = this.bp.models[agent.model]?.price;
    this.usage.inputTokens += reply.usage.inputTokens;
    this.usage.outputTokens += reply.usage.outputTokens;
    if (price) {
      this.usage.costUsd += (reply.usage.inputTokens * price.input + reply.usage.outputTokens * price.output) / 1e6;
    }
  }

  private tools(agent: AgentSpec): ToolDescriptor[] {
    return agent.tools.flatMap((name): ToolDescriptor[] => {
      const spec = this.bp.tools[name];
      if (!spec) return [];
      const parameters =
        spec.type === 'http' ? spec.parameters : (this.builtinSchemas[spec.function ?? name] ?? { type: 'object' });
      return [{ name, description: spec.description ?? `Tool ${name}`, parameters }];
    });
  }

  private systemPrompt(agent: AgentSpec): string {
    return [
      `You are the ${this.agent} agent (role: ${agent.role}) working on the goal "${this.bp.name}".`,
      this.bp.description ? `Goal: ${this.bp.description}` : '',
      agent.instructions.trim(),
      'When you are done, reply with the final answer as plain text and no tool calls.',
    ]
      .filter(Boolean)
      .join('\n\n');
  }

  private checkBudget(): void {
    const b = this.bp.budget;
    const over =
      this.step >= b.maxSteps
        ? `step budget of ${b.maxSteps} used up`
        : b.maxTokens !== undefined && this.usage.inputTokens + this.usage.outputTokens >= b.maxTokens
          ? `token budget of ${b.maxTokens} used up`
          : b.maxCostUsd !== undefined && this.usage.costUsd >= b.maxCostUsd
            ? `cost budget of $${b.maxCostUsd} used up`
            : undefined;
    if (over)
      this.fail(
        `${over} at step ${this.step} (agent ${this.agent}); raise budget in the blueprint`,
        GoalFailure.BudgetExceeded,
      );
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
      steps: this.step,
    };
  }

  /** Opens an approval and waits, with reminders, escalation and a deadline, until it is settled. */
  private async awaitApproval(
    call: ToolCallRequest,
    spec: ToolSpec,
    args: unknown,
    reason: string,
  ): Promise<ApprovalRecord> {
    const policy = spec.approval;
    if (!policy) throw new Error('awaitApproval called without a policy');
    const opened = Date.now();
    const timeoutMs = policy.timeout === undefined ? undefined : durationMs(policy.timeout);
    const record: ApprovalRecord = {
      id: `apr-${this.approvals.length + 1}`,
      tool: call.name,
      args,
      reason,
      requestedBy: this.agent,
      approvers: [...policy.approvers],
      eligible: resolveApprovers(policy.approvers, this.bp.approvers),
      quorum: policy.quorum,
      votes: [],
      status: 'pending',
      openedAt: new Date(opened).toISOString(),
      ...(timeoutMs === undefined ? {} : { deadline: new Date(opened + timeoutMs).toISOString() }),
      events: [],
    };
    this.approvals.push(record);
    this.setStatus('awaiting_approval');

    const remindMs = policy.remind === undefined ? undefined : durationMs(policy.remind);
    let reminders = 0;
    let escalations = 0;
    for (;;) {
      const now = Date.now();
      const nextReminder = remindMs === undefined ? Infinity : opened + (reminders + 1) * remindMs;
      const nextEscalation =
        escalations < policy.escalate.length ? opened + durationMs(policy.escalate[escalations]!.after) : Infinity;
      const deadline = timeoutMs === undefined ? Infinity : opened + timeoutMs;
      const wake = Math.min(nextReminder, nextEscalation, deadline);
      const settled = () => record.status !== 'pending';
      if (wake === Infinity) {
        await condition(settled);
      } else if (await condition(settled, Math.max(1, wake - now))) {
        break;
      }
      if (settled()) break;
      const at = new Date(Date.now()).toISOString();
      if (wake === deadline) {
        record.status = 'timed_out';
        record.decidedAt = at;
        record.events.push({ kind: 'timeout', at });
        break;
      }
      if (wake === nextEscalation) {
        const to = policy.escalate[escalations]!.to;
        escalations += 1;
        record.approvers = [...new Set([...record.approvers, ...to])];
        record.eligible = resolveApprovers(record.approvers, this.bp.approvers);
        record.events.push({ kind: 'escalation', at, to: [...to] });
        this.publish();
      } else {
        reminders += 1;
        record.events.push({ kind: 'reminder', at, to: [...record.eligible] });
      }
    }
    this.setStatus(this.approvals.some((a) => a.status === 'pending') ? 'awaiting_approval' : 'running');
    return record;
  }

  /** Runs one tool call the model asked for and returns what the model is told. */
  private async dispatch(
    call: ToolCallRequest,
    agent: AgentSpec,
    reason: string,
  ): Promise<{ output: string; repair: boolean }> {
    const spec = this.bp.tools[call.name];
    if (!spec) {
      return {
        output: `error: there is no tool "${call.name}"; available tools: ${agent.tools.join(', ') || 'none'}`,
        repair: true,
      };
    }
    if (!agent.tools.includes(call.name)) {
      return { output: `refused: agent ${this.agent} is not permitted to use ${call.name}`, repair: false };
    }
    let args: unknown;
    try {
      args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch (err) {
      return {
        output: `error: the arguments are not valid JSON (${(err as Error).message}); send a JSON object`,
        repair: true,
      };
    }
    const policy = needsApproval(spec.approval, args, this.args.input);
    if (policy.required) {
      const record = await this.awaitApproval(call, spec, args, [reason, policy.note].filter(Boolean).join(' '));
      if (record.status === 'timed_out' && spec.approval?.onTimeout === 'cancel') {
        this.result = {
          status: 'cancelled',
          reason: `approval ${record.id} for ${call.name} timed out`,
          ...this.summary(),
        };
        this.setStatus('cancelled');
        throw ApplicationFailure.create({
          message: this.result.reason,
          type: GoalFailure.Cancelled,
          nonRetryable: true,
          details: [this.result],
        });
      }
      if (record.status !== 'approved') {
        const last = record.votes.at(-1);
        const why =
          record.status === 'timed_out'
            ? 'nobody decided before the deadline'
            : `rejected by ${last?.by ?? 'an approver'}${last?.comment ? `: ${last.comment}` : ''}`;
        return {
          output: `not run: approval ${record.id} was ${why}. Choose another path or report this.`,
          repair: false,
        };
      }
    }
    this.step += 1;
    try {
      const result = await runTool.executeWithOptions(
        {
          activityId: `tool-${this.step}-${call.name}`,
          summary: `${this.agent}: ${call.name} ${inlineValue(args)}`,
          startToCloseTimeout: durationMs(spec.timeout) + 5_000,
          retry: toolRetry(spec),
        },
        [{ goal: this.bp.name, agent: this.agent, tool: call.name, spec, args }],
      );
      return { output: result.output, repair: false };
    } catch (err) {
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
        const repair = err.cause.type === 'InvalidToolArguments';
        return { output: `error: ${err.cause.message}`, repair };
      }
      throw err;
    }
  }

  /** One model call; when Temporal has given up on it, the goal fails with the agent, step and cause named. */
  private async callModel(agent: AgentSpec, settings: Blueprint['models'][string]): Promise<ModelReply> {
    try {
      return await callModel.executeWithOptions(
        { activityId: `model-${this.step}`, summary: `${this.agent}: model ${settings.model}` },
        [{ goal: this.bp.name, agent: this.agent, settings, messages: this.messages, tools: this.tools(agent) }],
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

  async run(): Promise<GoalResult> {
    const agent0 = this.agentSpec;
    if (this.messages.length === 0) {
      this.messages.push({ role: 'system', content: this.systemPrompt(agent0) });
      this.messages.push({ role: 'user', content: `Goal input:\n${JSON.stringify(this.args.input ?? {}, null, 2)}` });
    }
    const builtins = Object.entries(this.bp.tools).flatMap(([n, t]) => (t.type === 'builtin' ? [t.function ?? n] : []));
    if (builtins.length) this.builtinSchemas = await describeBuiltins(builtins);
    this.publish();
    let repairs = 0;
    for (;;) {
      if (workflowInfo().continueAsNewSuggested && !this.approvals.some((a) => a.status === 'pending')) {
        await condition(allHandlersFinished);
        const carried = {
          agent: this.agent,
          step: this.step,
          usage: this.usage,
          approvals: this.approvals,
          refusedDecisions: this.refusedDecisions,
          messages: this.messages,
        };
        await continueAsNew<typeof goalWorkflow>({ ...this.args, carried });
      }
      this.checkBudget();
      const agent = this.agentSpec;
      const settings = this.bp.models[agent.model];
      if (!settings)
        throw ApplicationFailure.nonRetryable(`model "${agent.model}" is not in the blueprint`, 'BlueprintError');
      this.step += 1;
      const reply = await this.callModel(agent, settings);
      this.addUsage(reply, agent);
      this.messages.push({
        role: 'assistant',
        content: reply.content,
        ...(reply.toolCalls.length ? { toolCalls: reply.toolCalls } : {}),
      });
      this.publish();

      if (reply.toolCalls.length === 0) {
        const answer = reply.content?.trim() ?? '';
        if (answer) {
          this.result = { status: 'completed', answer, ...this.summary() };
          this.setStatus('completed');
          return this.result;
        }
        repairs += 1;
        if (repairs > MAX_REPAIRS) {
          this.fail(
            `agent ${this.agent} gave ${repairs} unusable replies in a row (last: empty, at step ${this.step})`,
            GoalFailure.ModelOutput,
          );
        }
        this.messages.push({ role: 'user', content: 'Your reply was empty. Call a tool or give the final answer.' });
        continue;
      }

      let needsRepair = false;
      for (const call of reply.toolCalls) {
        const { output, repair } = await this.dispatch(call, agent, reply.content ?? '');
        needsRepair ||= repair;
        this.messages.push({ role: 'tool', toolCallId: call.id, content: output });
      }
      repairs = needsRepair ? repairs + 1 : 0;
      if (repairs > MAX_REPAIRS) {
        this.fail(
          `agent ${this.agent} made ${repairs} invalid tool calls in a row (at step ${this.step})`,
          GoalFailure.ModelOutput,
        );
      }
    }
  }
}

/** Runs one goal to its end: completed with an answer, failed with a reason, or cancelled. */
export async function goalWorkflow(args: GoalArgs): Promise<GoalResult> {
  const goal = new Goal(args);
  setHandler(stateQuery, () => goal.state());
  setHandler(approvalSignal, (d) => {
    goal.decide(d, 'signal');
    goal.publish();
  });
  setHandler(
    decideUpdate,
    (d) => {
      const record = goal.decide(d, 'update');
      if (!record) throw ApplicationFailure.nonRetryable(refusalReason(goal.approvals, d) ?? 'decision refused');
      goal.publish();
      return record;
    },
    {
      validator: (d: ApprovalDecision) => {
        const reason = refusalReason(goal.approvals, d);
        if (reason !== undefined) throw new Error(reason);
      },
    },
  );
  try {
    return await goal.run();
  } catch (err) {
    if (isCancellation(err) && goal.status !== 'cancelled') {
      goal.result = { status: 'cancelled', reason: 'the goal was cancelled', ...goal.summary() };
      goal.setStatus('cancelled');
    }
    throw err;
  }
}
