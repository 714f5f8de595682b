/**
 * The batch of tool calls a model reply made, followed through history until the next model call: each call matched
 * with the tool activity it ran (if any), what the workflow then told the model about it, and the approval it waited
 * for. The batch records a call when its outcome is known, and in the model's order: a call that ran no activity is
 * recorded when a later call's record, the next model call or the run's end comes.
 */
import type { ModelReply, ModelRequest, ToolRequest } from '../activities/index.js';
import { mcpBindings, type McpBinding, type PinnedMcp } from '../blueprint/mcp.js';
import type { ChatMessage, GoalArgs } from '../workflows/definitions.js';
import { needsApproval } from '../workflows/policy.js';
import { activityResult, parseArguments } from './activities.js';
import type { ClaimedCall } from './approvals.js';
import { canonicalJson, type Emit, type Located, type TrailGoal } from './entry.js';
import { firstPayload } from './history.js';
import type { ActivityInfo, HistoryIndex } from './history-index.js';
import { emitToolActivity, emitUnrunCall, type CallState, type ToolFact } from './tool-calls.js';

interface Batch {
  reply: ModelReply;
  calls: CallState[];
}

/** Follows the tool calls of each model reply, emitting their records. */
export class ToolBatch {
  private batch: Batch | undefined;
  /** The call each tool activity ran for. */
  private readonly callOf = new Map<ActivityInfo, CallState>();
  /** MCP tools the goal pinned, by model-facing name (read on first need). */
  private mcpTools: Map<string, McpBinding> | undefined;

  constructor(
    private readonly goal: TrailGoal,
    private readonly index: HistoryIndex,
    private readonly emit: Emit,
  ) {}

  /** The model replied: its tool calls are dispatched next; match them with the tool activities that ran. */
  open(model: ActivityInfo): void {
    this.flush(model.closed ?? model.scheduled);
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
    const next = this.index.models.find((m) => m.scheduled.pos > at);
    const end = next?.scheduled.pos ?? Infinity;
    for (const info of this.index.activities.values()) {
      if (info.type !== 'runTool' || info.scheduled.pos <= at || info.scheduled.pos >= end) continue;
      const req = info.input as ToolRequest | undefined;
      const free = calls.filter((c) => !c.activity && c.call.name === req?.tool);
      const match = free.find((c) => canonicalJson(c.args) === canonicalJson(req?.args)) ?? free[0];
      if (match) {
        match.activity = info;
        this.callOf.set(info, match);
      }
    }
    const told = this.toldTexts(reply, next, at);
    for (const c of calls) {
      const text = told.get(c.call.id);
      if (text !== undefined) c.told = text;
    }
    this.batch = { reply, calls };
  }

  /** What the workflow told the model about each tool call: the tool messages in the next model request. */
  private toldTexts(reply: ModelReply, next: ActivityInfo | undefined, after: number): Map<string, string> {
    let messages = (next?.input as ModelRequest | undefined)?.messages;
    if (!messages) {
      const nextStart = this.index.all.find((l) => l.pos > after && l.ev.type === 'WorkflowExecutionStarted');
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

  /** Records the tool calls before `upTo` that ran no activity; with no bound, all of them, and the batch ends. */
  flush(loc: Located, upTo = Infinity): void {
    if (!this.batch) return;
    for (const c of this.batch.calls) {
      if (c.index >= upTo) break;
      if (c.emitted || c.activity) continue;
      emitUnrunCall(this.goal, this.emit, loc, c);
    }
    if (upTo === Infinity) this.batch = undefined;
  }

  /** The workflow's fact about a call that ran no activity (a call with an activity is recorded from it). */
  fact(loc: Located, fact: ToolFact): void {
    const c = this.batch?.calls.find((x) => x.call.id === fact.callId && !x.emitted);
    if (!c) return;
    if (c.activity) return; // its activity's record says how it ended
    this.flush(loc, c.index);
    emitUnrunCall(this.goal, this.emit, loc, c, fact);
  }

  /** A tool activity was scheduled: the calls before it are recorded, then it. */
  activity(loc: Located, info: ActivityInfo): void {
    const call = this.callOf.get(info);
    if (call) this.flush(loc, call.index);
    if (call) call.emitted = true;
    emitToolActivity(this.emit, loc, info, call);
  }

  /** The outstanding `ask_human` call of the batch, if any. */
  outstandingQuestion(): CallState | undefined {
    return this.batch?.calls.find((x) => x.call.name === 'ask_human' && !x.emitted && !x.activity);
  }

  /** The call of the current batch an approval (recorded as a fact) is for. */
  claimById(loc: Located, callId: string): ClaimedCall | undefined {
    const candidate = this.batch?.calls.find((c) => c.call.id === callId && !c.emitted && !c.approvalId);
    return this.claim(loc, candidate, false);
  }

  /** The call an approval opened at `loc` is for: the next call of the batch the blueprint says needs approval. */
  claimNext(loc: Located): ClaimedCall | undefined {
    const { bp, args } = this.goal;
    const candidate = this.batch?.calls.find((c) => {
      if (c.emitted || c.approvalId) return false;
      if (c.activity && c.activity.scheduled.pos < loc.pos) return false;
      const spec = bp?.tools[c.call.name];
      const mcp = spec ? undefined : this.mcpBinding(c.call.name);
      const approval = spec ? spec.approval : mcp?.approval;
      const listed = bp?.agents[c.agent]?.tools.includes(mcp ? mcp.source : c.call.name);
      if (!approval || !listed) return false;
      return needsApproval(approval, c.args, args?.input).required;
    });
    return this.claim(loc, candidate, true);
  }

  private claim(loc: Located, candidate: CallState | undefined, withTold: boolean): ClaimedCall | undefined {
    const batch = this.batch;
    if (!batch || !candidate) return undefined;
    this.flush(loc, candidate.index);
    return {
      tool: candidate.call.name,
      args: candidate.args,
      agent: candidate.agent,
      ...(withTold && candidate.told !== undefined ? { told: candidate.told } : {}),
      reason: batch.reply.content ?? '',
      assign: (id) => {
        candidate.approvalId = id;
      },
    };
  }

  /** The pinned MCP tool behind a model-facing name, from the goal's discovery result in history. */
  private mcpBinding(name: string): McpBinding | undefined {
    const { bp, args } = this.goal;
    if (!bp?.mcp) return undefined;
    if (!this.mcpTools) {
      const discovery = [...this.index.activities.values()].find(
        (a) => a.type === 'discoverMcpTools' && a.closed?.ev.type === 'ActivityTaskCompleted',
      );
      const pinned = discovery
        ? (activityResult(discovery) as PinnedMcp | undefined)
        : (args?.task?.mcp ?? args?.carried?.mcp);
      this.mcpTools = mcpBindings(bp, pinned ?? {}).bindings;
    }
    return this.mcpTools.get(name);
  }
}
