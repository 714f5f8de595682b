/**
 * The goal workflow: the agent loop. It decides and never does I/O: model and tool calls are activities, approvals
 * and human replies are signals and updates, delegated sub-tasks are child workflows, waiting is durable timers.
 *
 * Read it as `run`: `tick` over a `NextStep` (call the model, take an answer, run tools, continue as new) until a
 * `GoalEnd`, which `Goal.end` turns into the result and status, the one place a goal ends. Its parts live beside it:
 * the record (goal-record.ts), the model call (model-call.ts), tool calls (tool-calls.ts) and the engine tools
 * (engine-tool-registry.ts), human waits (human-wait.ts, approval-wait.ts, and wait-runs.ts for the waits that
 * move to a new run, which is why the loop tracks where its turn stands), the budget gate (budget-gate.ts),
 * delegation (delegate-tool.ts), publishing (publish.ts), the ends (goal-end.ts) and the run boundary
 * (run-boundary.ts). It is over 300 lines because the loop's turns and the status they publish belong together;
 * splitting them further would spread one state machine over several files.
 */
import {
  ApplicationFailure,
  ContinueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { ModelReply } from '../activities/index.js';
import type { AgentSpec, Blueprint, Limits } from '../blueprint/schema.js';
import { GoalFailure, ToolError } from '../failures.js';
import { describeBuiltins } from './activity-profiles.js';
import { ApprovalDesk, GoalCancelledByPolicy, installApprovalHandlers } from './approval-wait.js';
import { budgetGate } from './budget-gate.js';
import {
  stateQuery,
  taskStatusSignal,
  type BudgetState,
  type ChatMessage,
  type GoalArgs,
  type GoalRecord,
  type GoalResult,
  type GoalStatus,
  type RefusalRecord,
  type ResumePoint,
  type TaskStatusReport,
} from './definitions.js';
import type { EngineContext } from './engine-context.js';
import { offeredTools, type ToolOffer } from './engine-tools.js';
import { budgetAt, carriedState, openRecord, queryState } from './goal-record.js';
import { GoalMcp } from './mcp-tools.js';
import { askAboutRefusal, installReplyHandlers } from './human-wait.js';
import { tokenScale } from './context-budget.js';
import { addUsage, askModel, contextFits, fitContext, ToolSchemas } from './model-call.js';
import { changed, Patch } from './patches.js';
import { recordFact } from './facts.js';
import { IdentityGate } from './identity-gate.js';
import { Publisher } from './publish.js';
import { replyEnding } from './reply.js';
import { dispatch } from './tool-calls.js';
import { openingMessage, systemPrompt } from './transcript.js';
import { propose } from './validation.js';
import { GoalEnding, resultOf, type GoalEnd } from './goal-end.js';
import { continueAsNew, runIsOver } from './run-boundary.js';
import { historyFull, WaitMovesOn } from './wait-runs.js';

/** Failure types a goal can end with (defined in src/failures.ts). */
export { GoalFailure };

/** What the loop does next (`Goal.tick`). Humans, handoffs and delegation are waited on inside `runTools`. */
type NextStep =
  | { kind: 'callModel' }
  | { kind: 'answer'; actor: string; reply: ModelReply }
  | { kind: 'runTools'; actor: string; reply: TurnReply; offers: Map<string, ToolOffer>; from?: ToolsResume }
  | { kind: 'continueAsNew' }
  | { kind: 'end'; end: GoalEnd };

/** What a tool turn needs of the model's reply. */
type TurnReply = Pick<ModelReply, 'content' | 'toolCalls'>;

/** Where a tool turn resumes in a new run: the call to dispatch next, and what the earlier calls left. */
type ToolsResume = { next: number; problem?: string; notes: ChatMessage[] };

const FINAL: readonly GoalStatus[] = ['completed', 'failed', 'cancelled'];

/** One goal's run: its state and the loop that advances it. */
class Goal implements EngineContext {
  readonly bp: Blueprint;
  readonly limits: Limits;
  /** The goal's one record: the state query and continue-as-new are derived from it. */
  readonly r: GoalRecord;
  readonly desk: ApprovalDesk;
  /** Who may act, verified (goals recorded before verified identity go by name). */
  readonly gate: IdentityGate;
  private readonly schemas: ToolSchemas;
  readonly mcp: GoalMcp;
  /** Messages to add once every tool result of the current reply is in (handoff notes, validator feedback). */
  readonly notes: ChatMessage[] = [];
  private readonly runStartStep: number;
  /** The history's length at this run's first task. */
  private readonly runStartEvents: number;
  private readonly publisher: Publisher;
  /** Set when a tool ended the goal (a verdict, an answer): the loop ends it after the turn. */
  private ending?: GoalEnd;
  /** Provider-reported prompt tokens over the estimate of the same request (token-aware models); at least 1. */
  private tokenScale = 1;
  /** Where the turn stands, so a human wait that moves to a new run can be taken up there (wait-runs.ts). */
  private position: ResumePoint;
  /** Steps await only what they wait on (Patch.leanSteps); false for goals recorded before. */
  readonly lean: boolean;
  /** A reply without tool calls publishes its cost with what follows it (Patch.costWithAnswer). */
  private readonly costWithAnswer: boolean;

  constructor(readonly args: GoalArgs) {
    this.bp = args.blueprint;
    this.limits = this.bp.limits;
    this.publisher = new Publisher(
      this.bp,
      changed(Patch.startSearchAttributes) ? workflowInfo().typedSearchAttributes : undefined,
    );
    this.r = openRecord(args, workflowInfo().startTime.getTime());
    this.mcp = new GoalMcp(this.bp, this.r.mcp ?? args.task?.mcp ?? {});
    this.schemas = new ToolSchemas(this.bp, this.r, (name) => this.mcp.parameters(name));
    this.gate = new IdentityGate(args, this.r);
    this.desk = new ApprovalDesk(
      this.bp,
      this.r,
      () => this.humansChanged(),
      this.gate,
      () => this.waitMayMove(),
    );
    this.runStartStep = this.r.step;
    this.runStartEvents = workflowInfo().historyLength;
    this.lean = changed(Patch.leanSteps);
    this.costWithAnswer = changed(Patch.costWithAnswer);
    this.position = { kind: 'model', step: this.r.step };
    // A run that takes up a human wait says what it waits on from its first task (before trust is loaded).
    if (this.r.resume) this.humansChanged();
  }

  /** A human wait moves to a new run when this run's history is full, unless sub-tasks of this run still work. */
  waitMayMove(): boolean {
    return !this.r.tasks.some((t) => !FINAL.includes(t.status as GoalStatus)) && historyFull(this.runStartEvents);
  }

  /** An approval or a question opened, changed hands or settled: the status follows whether anything still waits. */
  humansChanged(): void {
    if (FINAL.includes(this.r.status)) return this.publish();
    if (this.desk.pending().length > 0) return this.setStatus('awaiting_approval');
    if (!this.r.questions.some((q) => q.status === 'pending')) return this.setStatus('running');
    this.setStatus(changed(Patch.awaitingReply) ? 'awaiting_reply' : 'awaiting_approval');
  }

  get agentSpec(): AgentSpec {
    const spec = this.bp.agents[this.r.agent];
    if (!spec)
      throw ApplicationFailure.nonRetryable(`agent "${this.r.agent}" is not in the blueprint`, GoalFailure.Blueprint);
    return spec;
  }

  /** True while this goal is the validator's turn to judge a proposed answer. */
  private get validating(): boolean {
    return !this.args.task && this.r.agent === this.bp.validator && this.r.validation.candidate !== undefined;
  }

  /** The budget as used now: computed, never written. */
  currentBudget(): BudgetState {
    return budgetAt(this.r, Date.now());
  }

  private refreshBudget(): void {
    this.r.budget.used = this.currentBudget().used;
  }

  /** Keeps search attributes and the Web UI's current details in step with the record. */
  publish(): void {
    this.publisher.publish(this.r, this.desk);
  }

  setStatus(status: GoalStatus): void {
    const changed = status !== this.r.status;
    this.r.status = status;
    this.publish();
    if (changed && this.args.task && !FINAL.includes(status)) {
      const report: TaskStatusReport = { workflowId: workflowInfo().workflowId, status };
      // The parent learns the final status from the child's result; this only keeps its view current meanwhile.
      void getExternalWorkflowHandle(this.args.task.parentId)
        .signal(taskStatusSignal, report)
        .catch(() => undefined);
    }
  }

  /** A delegated task reports a status change while it runs. */
  onTaskStatus(report: TaskStatusReport): void {
    const task = this.r.tasks.find((t) => t.workflowId === report?.workflowId);
    if (!task || FINAL.includes(task.status as GoalStatus) || FINAL.includes(report.status)) return;
    task.status = report.status;
    this.publish();
  }

  private offers(agent: AgentSpec): Map<string, ToolOffer> {
    const offers = offeredTools(this.bp, agent, {
      validating: this.validating,
      isTask: this.args.task !== undefined,
      parallelTasks: this.limits.parallelTasks,
    });
    for (const [name, offer] of this.mcp.offersFor(agent)) if (!offers.has(name)) offers.set(name, offer);
    return offers;
  }

  parserFor(name: string): z.ZodType | undefined {
    return this.schemas.parserFor(name);
  }

  /** The budget gate before a step (budget-gate.ts): undefined when there is nothing to wait for. */
  ensureBudget(): Promise<void> | undefined {
    return budgetGate(this, this.lean);
  }

  /** Ends the goal as failed, from wherever the failure is found; `run` turns it into its GoalEnd. */
  fail(reason: string, type: string): never {
    throw new GoalEnding({ kind: 'failed', reason, type });
  }

  /** Runs a wait on humans, keeping its time out of the duration budget. */
  async waitingOnHumans<T>(wait: () => Promise<T>): Promise<T> {
    const since = Date.now();
    try {
      return await wait();
    } finally {
      this.r.humanWaitMs += Date.now() - since;
    }
  }

  /** Ends the goal with this answer once the current turn is over (later tool calls of the reply are not run). */
  complete(answer: string, by: string, validatedBy?: string): void {
    this.ending = { kind: 'completed', answer, by, ...(validatedBy ? { validatedBy } : {}) };
  }

  /** A reply with no tool calls: the final answer, unless the validator must see it first. */
  private finalAnswer(answer: string, actor: string): void {
    const validator = this.bp.validator;
    if (this.args.task || validator === undefined || actor === validator) {
      this.complete(answer, actor, actor === validator && !this.args.task ? actor : undefined);
      return;
    }
    this.r.messages.push(propose(this.r.validation, answer, actor, this.r.step));
    this.r.agent = validator;
    this.publish();
  }

  /** Counts an unusable reply; past the limit the goal fails, naming the agent, the step and the last problem. */
  private countRepair(problem: string | undefined): void {
    if (problem === undefined) {
      this.r.repairs = 0;
      return;
    }
    this.r.repairs += 1;
    if (this.r.repairs > this.limits.repairs) {
      this.fail(
        `agent ${this.r.agent} gave ${this.r.repairs} unusable replies in a row (limit ${this.limits.repairs}), the last at step ${this.r.step}: ${problem}`,
        GoalFailure.ModelOutput,
      );
    }
  }

  /** Continues as new between steps (run-boundary.ts), carrying the record with the budget as used now. */
  private continueAsNew(): Promise<never> {
    return continueAsNew(this.args, this.desk, () => {
      this.refreshBudget();
      const window = this.bp.models[this.agentSpec.model]?.contextWindow;
      return carriedState(this.r, window === undefined ? this.limits.contextMessages : undefined, this.currentBudget());
    });
  }

  /** A human wait filled this run's history: the goal continues as new, to take the wait up where it stands. */
  private async waitInNextRun(): Promise<never> {
    this.r.step = this.position.step;
    this.r.resume = this.position;
    return this.continueAsNew();
  }

  /** The first step of a run: where the previous run stopped in a human wait, else as after any turn. */
  private firstStep(): NextStep {
    const at = this.r.resume;
    delete this.r.resume;
    if (at?.kind !== 'tools') return this.afterTurn();
    const agent = this.bp.agents[at.actor];
    if (!agent) return this.afterTurn();
    const from = { next: at.next, notes: at.notes, ...(at.problem === undefined ? {} : { problem: at.problem }) };
    const reply = { content: at.content, toolCalls: at.toolCalls };
    return { kind: 'runTools', actor: at.actor, reply, offers: this.offers(agent), from };
  }

  /** The step after a turn: the goal's end when a tool ended it, else the next model call (or a fresh run). */
  private afterTurn(): NextStep {
    if (this.ending) return { kind: 'end', end: this.ending };
    // What the turn changed and nothing published yet: the cost of a reply without tool calls (a goal it ended
    // publishes it with the final status instead), or delegated tasks' costs added by a tools turn.
    if (this.costWithAnswer) this.publish();
    const over = runIsOver(this.r.step - this.runStartStep, this.limits.stepsPerRun);
    return over ? { kind: 'continueAsNew' } : { kind: 'callModel' };
  }

  /** One model call: its reply is either an answer (no tool calls) or tools to run. */
  private async modelTurn(): Promise<NextStep> {
    this.position = { kind: 'model', step: this.r.step };
    const gate = this.ensureBudget();
    if (gate) await gate;
    const actor = this.r.agent;
    const agent = this.agentSpec;
    const settings = this.bp.models[agent.model];
    if (!settings)
      throw ApplicationFailure.nonRetryable(`model "${agent.model}" is not in the blueprint`, GoalFailure.Blueprint);
    const offers = this.offers(agent);
    this.r.step += 1;
    const tools = this.schemas.descriptors(offers);
    const system = systemPrompt(this.bp, actor, agent, offers, this.args.task);
    if (!this.lean || !contextFits(this, settings, tools, system, this.tokenScale)) {
      await fitContext(this, settings, agent, tools, system, this.tokenScale);
    }
    const reply = await askModel(this, settings, agent.model, tools, system);
    if (reply.builtinSchemas) Object.assign(this.r.builtinSchemas, reply.builtinSchemas);
    if (settings.contextWindow !== undefined) {
      this.tokenScale = tokenScale(reply.usage.inputTokens, system, tools, this.r.messages);
    }
    addUsage(this, reply, agent);
    this.r.messages.push({
      role: 'assistant',
      content: reply.content,
      ...(reply.toolCalls.length ? { toolCalls: reply.toolCalls } : {}),
    });
    if (reply.toolCalls.length || !this.costWithAnswer) this.publish();
    return reply.toolCalls.length ? { kind: 'runTools', actor, reply, offers } : { kind: 'answer', actor, reply };
  }

  /** A reply without tool calls: a final answer only when it stopped on its own and is not a verdict in text. */
  private async answerTurn(actor: string, reply: ModelReply): Promise<NextStep> {
    const answer = reply.content?.trim() ?? '';
    const ending = replyEnding(reply);
    const onRefusal = this.bp.models[this.agentSpec.model]?.onRefusal;
    if (ending.kind === 'refused' && onRefusal === 'fail') {
      // Only blueprints written after onRefusal existed set it: no goal recorded before runs this branch.
      this.fail(`agent ${actor} at step ${this.r.step}: ${ending.problem}`, GoalFailure.ModelRefused);
    }
    if (ending.kind === 'refused' && onRefusal === 'ask' && changed(Patch.refusalAsk)) {
      this.unusable(actor, 'refused_reply', ending.problem);
      await askAboutRefusal(this, actor, ending);
      return this.afterTurn();
    }
    if (ending.kind !== 'answer' && changed(Patch.finishReason)) {
      this.unusable(actor, ending.kind === 'truncated' ? 'truncated_reply' : 'refused_reply', ending.problem);
      this.r.messages.push({ role: 'user', content: ending.instruction });
      return this.afterTurn();
    }
    if (answer && !this.validating) {
      this.finalAnswer(answer, actor);
      if (!this.ending) this.countRepair(undefined);
      return this.afterTurn();
    }
    this.unusable(actor, 'empty_reply', answer ? 'a verdict in plain text' : 'an empty reply');
    this.r.messages.push({
      role: 'user',
      content: answer
        ? 'Give your verdict with accept_answer or reject_answer, not as text.'
        : 'Your reply was empty. Call a tool or give the final answer.',
    });
    return this.afterTurn();
  }

  /** Records an unusable reply and counts it as a repair. */
  private unusable(actor: string, kind: RefusalRecord['kind'], problem: string): void {
    this.r.refusals.push({ agent: actor, step: this.r.step, tool: '', kind, reason: problem, at: now() });
    this.countRepair(problem);
  }

  /** Runs the reply's tool calls in order; one that ends the turn (handoff, verdict) leaves the rest not run. */
  private async toolsTurn(
    actor: string,
    reply: TurnReply,
    offers: Map<string, ToolOffer>,
    from?: ToolsResume,
  ): Promise<NextStep> {
    let problem = from?.problem;
    let turnEnded: string | undefined;
    if (from) this.notes.push(...from.notes);
    for (const [i, call] of reply.toolCalls.entries()) {
      if (i < (from?.next ?? 0)) continue;
      this.position = {
        kind: 'tools',
        step: this.r.step,
        actor,
        content: reply.content,
        toolCalls: reply.toolCalls,
        next: i,
        notes: [...this.notes],
        ...(problem === undefined ? {} : { problem }),
      };
      if (turnEnded !== undefined) {
        recordFact({
          fact: 'tool',
          callId: call.id,
          tool: call.name,
          agent: actor,
          outcome: 'not_run',
          summary: `not run: ${turnEnded}`,
        });
        this.r.messages.push({ role: 'tool', toolCallId: call.id, content: `not run: ${turnEnded}` });
        continue;
      }
      const outcome = await dispatch(this, call, actor, offers, reply.content ?? '');
      if (outcome.repair) problem = `${call.name}: ${outcome.output}`;
      turnEnded = outcome.endsTurn;
      this.r.messages.push({
        role: 'tool',
        toolCallId: call.id,
        content: outcome.output,
        ...(outcome.stored ? { stored: outcome.stored } : {}),
      });
    }
    this.r.messages.push(...this.notes.splice(0));
    if (!this.ending) this.countRepair(problem);
    return this.afterTurn();
  }

  /**
   * Does one step and says what comes next. Goals recorded before `lean-steps` went through an async wrapper here:
   * they keep its microtask hops on replay.
   */
  private tick(step: Exclude<NextStep, { kind: 'end' }>): Promise<NextStep> {
    return this.lean ? this.turn(step) : (async () => this.turn(step))();
  }

  /** The turn a step is. */
  private turn(step: Exclude<NextStep, { kind: 'end' }>): Promise<NextStep> {
    switch (step.kind) {
      case 'callModel':
        return this.modelTurn();
      case 'answer':
        return this.answerTurn(step.actor, step.reply);
      case 'runTools':
        return this.toolsTurn(step.actor, step.reply, step.offers, step.from);
      case 'continueAsNew':
        return this.continueAsNew();
    }
  }

  /** The loop: steps until the goal ends; every end (answer, failure, cancellation) comes back as a GoalEnd. */
  async run(): Promise<GoalEnd> {
    if (this.r.messages.length === 0) {
      this.r.messages.push({ role: 'user', content: openingMessage(this.args.input, this.args.task) });
    }
    if (!this.args.carried) {
      const builtins = Object.entries(this.bp.tools).flatMap(([n, t]) =>
        t.type === 'builtin' ? [t.function ?? n] : [],
      );
      // Goals recorded before issue 16 asked for the schemas with an activity first; newer ones learn them from the
      // first model call (ToolDescriptor.builtin): one round trip fewer before the model is called.
      if (builtins.length && !changed(Patch.builtinSchemasWithModelCall)) {
        this.r.builtinSchemas = await describeBuiltins(builtins);
      }
      if (!this.args.task?.mcp) {
        // Discovery reaches the blueprint's MCP servers: only once the goal's opening is sound.
        if (this.mcp.used) await this.gate.ensureOpen();
        const failed = await this.mcp.discover();
        if (failed !== undefined) this.fail(failed, ToolError.McpDiscoveryFailed);
      }
      // Pinned for the goal: carried by continue-as-new with the record, and given to its sub-tasks.
      if (this.mcp.used) this.r.mcp = this.mcp.pinned;
    }
    this.publish();
    try {
      for (let next = this.firstStep(); ;) {
        if (next.kind === 'end') return next.end;
        next = await this.tick(next);
      }
    } catch (err) {
      if (err instanceof WaitMovesOn) return await this.waitInNextRun();
      if (err instanceof GoalEnding) return err.end;
      if (err instanceof GoalCancelledByPolicy) return { kind: 'cancelled', reason: err.message };
      throw err;
    }
  }

  /** The one place a goal ends: its result and status are set here, for every way it can end. */
  end(end: GoalEnd): GoalResult {
    if (end.kind === 'cancelled') {
      for (const t of this.r.tasks) if (!FINAL.includes(t.status as GoalStatus)) t.status = 'cancelled';
    }
    this.r.result = resultOf(this.r, end, this.args.task);
    this.setStatus(this.r.result.status);
    if (end.kind !== 'failed' || end.type === undefined) return this.r.result;
    throw ApplicationFailure.create({
      message: end.reason,
      type: end.type,
      nonRetryable: true,
      details: [this.r.result],
    });
  }
}

function now(): string {
  return new Date().toISOString();
}

/** Runs one goal to its end: completed with an answer, failed with a reason, or cancelled. */
export async function goalWorkflow(args: GoalArgs): Promise<GoalResult> {
  const goal = new Goal(args);
  // Read-only: the query's answer is computed from the record, never written into it.
  setHandler(stateQuery, () => queryState(goal.r, args, Date.now()));
  installApprovalHandlers(goal.desk);
  installReplyHandlers(goal);
  setHandler(taskStatusSignal, (report) => goal.onTaskStatus(report));
  try {
    // A goal cancelled by a policy (onTimeout: cancel) returns as cancelled; a failure throws, failing the execution.
    await goal.gate.open();
    return goal.end(await goal.run());
  } catch (err) {
    // Continuing as new is not an end: the goal runs on in its next run (older goals published `failed` first).
    if (err instanceof ContinueAsNew && changed(Patch.continueAsNewIsNoEnd)) throw err;
    // Cancelled from outside, or an error the engine did not plan for: the status still follows the execution.
    if (isCancellation(err) && goal.r.status !== 'cancelled') {
      goal.end({ kind: 'cancelled', reason: 'the goal was cancelled' });
    } else if (!isCancellation(err) && !FINAL.includes(goal.r.status) && changed(Patch.statusFollowsFailure)) {
      goal.end({ kind: 'failed', reason: err instanceof Error ? err.message : String(err) });
    }
    throw err;
  } finally {
    if (!goal.lean || goal.desk.notifying) await goal.desk.drain();
  }
}
