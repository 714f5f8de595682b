/**
 * Tool calls in the audit trail: one record per call the model made. A call that ran an activity is recorded from
 * that activity (its result, attempts, timing and idempotency key); a call that ran none (refused, not run after an
 * approval said no, an engine tool handled in the workflow) from the fact the workflow recorded, or, in histories
 * from before the facts, from what the model was told and the pinned blueprint.
 */
import type { ToolRequest, ToolResult } from '../activities/index.js';
import { describeMcpServer } from '../blueprint/mcp.js';
import { formatSeconds } from '../text.js';
import type { ToolCallRequest } from '../workflows/definitions.js';
import { isKnownTool } from '../workflows/engine-tools.js';
import type { AuditFact } from '../workflows/facts.js';
import { activityFacts, activityResult } from './activities.js';
import { AuditKind, clipLine, compact, type Emit, type FailureInfo, type Located, type TrailGoal } from './entry.js';
import type { ActivityInfo } from './history-index.js';

/** The workflow's fact about a tool call that ran no activity. */
export type ToolFact = Extract<AuditFact, { fact: 'tool' }>;

/** One tool call of a model reply, as the trail follows it. */
export interface CallState {
  /** Its place in the reply. */
  index: number;
  call: ToolCallRequest;
  args: unknown;
  agent: string;
  /** What the workflow told the model about it, when history has it. */
  told?: string;
  /** The tool activity it ran, if any. */
  activity?: ActivityInfo;
  /** Its record is in the trail. */
  emitted: boolean;
  /** The approval it waited for. */
  approvalId?: string;
}

/** What became of a call that ran no activity, and why: the fact, else what the model was told, else the rules. */
function unrunOutcome(
  goal: TrailGoal,
  c: CallState,
  fact: ToolFact | undefined,
  engineTool: boolean,
  permitted: boolean,
): { outcome: string; why: string } {
  const told = c.told;
  // The workflow's fact says what became of the call. Histories from before the facts: what the model was told
  // says it; before that is in history (the goal is still deciding, or it ended first), the pinned blueprint still
  // says whether the call was allowed at all.
  if (fact) return { outcome: fact.outcome, why: clipLine(fact.summary, 100) };
  if (goal.withFacts && !goal.closing) return { outcome: 'pending', why: 'outcome not in history yet' };
  if (told !== undefined) {
    const outcome = /^refused/i.test(told)
      ? 'refused'
      : /^not run/i.test(told)
        ? 'not_run'
        : /^error/i.test(told)
          ? 'invalid'
          : 'handled';
    return { outcome, why: clipLine(told, 100) };
  }
  if (engineTool) {
    return {
      outcome: 'handled',
      why: `${c.call.name}: an engine tool, handled in the workflow (the goal ended with it)`,
    };
  }
  if (!goal.bp?.tools[c.call.name]) return { outcome: 'invalid', why: `the blueprint has no tool ${c.call.name}` };
  if (!permitted) {
    return { outcome: 'refused', why: `the blueprint does not let agent ${c.agent} use ${c.call.name}` };
  }
  return goal.closing
    ? { outcome: 'unknown', why: 'no outcome in history (the goal ended first)' }
    : { outcome: 'pending', why: 'outcome not in history yet' };
}

/** The record of a tool call that ran no activity (refused, not run, handled in the workflow). */
export function emitUnrunCall(goal: TrailGoal, emit: Emit, loc: Located, c: CallState, fact?: ToolFact): void {
  c.emitted = true;
  const spec = goal.bp?.tools[c.call.name];
  const engineTool = !spec && goal.bp !== undefined && isKnownTool(goal.bp, c.call.name);
  const permitted = engineTool || (goal.bp?.agents[c.agent]?.tools.includes(c.call.name) ?? false);
  const told = c.told;
  const { outcome, why } = unrunOutcome(goal, c, fact, engineTool, permitted);
  const approvalId =
    fact?.approvalId ?? c.approvalId ?? (fact ? undefined : /approval (\S+) was/.exec(told ?? '')?.[1]);
  emit(loc, AuditKind.ToolCall, `agent:${c.agent}`, `${c.agent}: ${c.call.name} ${compact(c.args, 60)} → ${why}`, {
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
  });
}

/** The record of a tool call that ran its activity (`call`: the model's call it ran for, when the trail knows it). */
export function emitToolActivity(emit: Emit, loc: Located, info: ActivityInfo, call: CallState | undefined): void {
  const req = info.input as ToolRequest | undefined;
  const { data, events, status } = activityFacts(info);
  const result = activityResult(info) as ToolResult | undefined;
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
  emit(
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
