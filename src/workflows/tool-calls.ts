/**
 * One tool call the model asked for: checked against the agent's permissions and the tool's schema, then an engine
 * tool from the registry, or a blueprint tool (its approval policy, then its activity). Refusals and outcomes the
 * model must know about are recorded in the goal record as structured refusals (kind, reason), and every outcome
 * decided here (refusals, engine tools) as a structured fact in history (facts.ts), which the audit reads.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import type { z } from 'zod';
import { ToolError } from '../failures.js';
import { runLocalTool, runsLocally, runTool, toolRetry } from './activity-profiles.js';
import { refusalForAgent } from './approvals.js';
import { checkArguments, parseJsonArguments } from './arguments.js';
import type { RefusalRecord, ToolCallRequest } from './definitions.js';
import { durationMs } from './durations.js';
import type { CallOutcome, EngineContext } from './engine-context.js';
import { ENGINE_TOOLS, type EngineTool, type handoffArgs } from './engine-tool-registry.js';
import { isKnownTool, type ToolOffer } from './engine-tools.js';
import { recordFact, type ToolOutcome } from './facts.js';
import { changed, Patch } from './patches.js';
import { needsApproval, priorCalls, tallyRun } from './policy.js';
import { inlineValue } from './summaries.js';

type HandoffArgs = z.output<ReturnType<typeof handoffArgs>>;

/** How the audit names each kind of refusal. */
const REFUSAL_OUTCOME: Record<RefusalRecord['kind'], ToolOutcome> = {
  not_permitted: 'refused',
  unknown_tool: 'invalid',
  invalid_arguments: 'invalid',
  empty_reply: 'invalid',
  truncated_reply: 'invalid',
  refused_reply: 'invalid',
  not_run: 'not_run',
  outcome_unknown: 'outcome_unknown',
};

/** Records a refused or unusable call and returns what the model is told. */
function refuse(
  ctx: EngineContext,
  actor: string,
  call: ToolCallRequest,
  kind: RefusalRecord['kind'],
  output: string,
  repair: boolean,
  approvalId?: string,
): CallOutcome {
  recordFact({
    fact: 'tool',
    callId: call.id,
    tool: call.name,
    agent: actor,
    outcome: REFUSAL_OUTCOME[kind],
    refusal: kind,
    summary: output,
    ...(approvalId ? { approvalId } : {}),
  });
  ctx.r.refusals.push({
    agent: actor,
    step: ctx.r.step,
    tool: call.name,
    kind,
    reason: output,
    at: new Date().toISOString(),
  });
  return { output, repair };
}

/** Checks one tool call the model asked for against the agent's permissions and the tool's schema, then runs it. */
export async function dispatch(
  ctx: EngineContext,
  call: ToolCallRequest,
  actor: string,
  offers: Map<string, ToolOffer>,
  reason: string,
): Promise<CallOutcome> {
  const offer = offers.get(call.name);
  if (!offer) {
    const mcpRefusal = ctx.mcp.refusal(call.name, actor);
    if (mcpRefusal !== undefined) return refuse(ctx, actor, call, 'not_permitted', mcpRefusal, false);
    if (isKnownTool(ctx.bp, call.name)) {
      return refuse(
        ctx,
        actor,
        call,
        'not_permitted',
        `refused: agent ${actor} is not permitted to use ${call.name}`,
        false,
      );
    }
    return refuse(
      ctx,
      actor,
      call,
      'unknown_tool',
      `error: there is no tool "${call.name}"; your tools: ${[...offers.keys()].join(', ') || 'none'}`,
      true,
    );
  }
  const json = parseJsonArguments(call.arguments);
  if (!json.ok) return refuse(ctx, actor, call, 'invalid_arguments', json.error, true);
  const checked = checkArguments(call.name, offer.schema ?? ctx.parserFor(call.name), json.value);
  if (!checked.ok) return refuse(ctx, actor, call, 'invalid_arguments', checked.error, true);
  const tool = offer.tool;
  if (tool.kind === 'blueprint') return runBlueprintTool(ctx, call, actor, json.value, reason);

  const gate = ctx.ensureBudget();
  if (gate) await gate;
  ctx.r.step += 1;
  const call1 = { actor, step: ctx.r.step, at: new Date().toISOString(), callId: call.id };
  const engineCall =
    tool.kind === 'handoff'
      ? { ...call1, args: checked.value as HandoffArgs, to: tool.to }
      : { ...call1, args: checked.value };
  // The value was parsed by this tool's own schema (offer.schema), so it has the handler's argument type.
  const engineTool = ENGINE_TOOLS[tool.kind] as EngineTool<z.ZodType>;
  const outcome = await engineTool.handle(ctx, engineCall);
  const read = outcome.repair ? { summary: outcome.output } : engineTool.audit(engineCall, outcome);
  recordFact({
    fact: 'tool',
    callId: call.id,
    tool: call.name,
    agent: actor,
    outcome: outcome.repair ? 'invalid' : 'handled',
    summary: read.summary,
    ...(read.detail ? { detail: read.detail } : {}),
  });
  return outcome;
}

/** A blueprint tool: approval when its policy asks for it, then an activity with its retry profile. */
async function runBlueprintTool(
  ctx: EngineContext,
  call: ToolCallRequest,
  actor: string,
  args: unknown,
  reason: string,
): Promise<CallOutcome> {
  const mcp = ctx.mcp.binding(call.name);
  const spec = ctx.bp.tools[call.name];
  if (!spec && !mcp) return refuse(ctx, actor, call, 'unknown_tool', `error: there is no tool "${call.name}"`, true);
  const gate = ctx.ensureBudget();
  if (gate) await gate;
  const approvalPolicy = mcp ? mcp.approval : spec?.approval;
  const parameters = mcp
    ? mcp.inputSchema
    : spec?.type === 'http'
      ? spec.parameters
      : ctx.r.builtinSchemas[spec?.function ?? call.name];
  const prior = priorCalls(ctx.r.toolsRan, call.name, parameters);
  const policy = needsApproval(
    approvalPolicy,
    args,
    ctx.args.input,
    () => changed(Patch.celNonBooleanFailsClosed),
    prior,
  );
  if (policy.required && approvalPolicy) {
    const approval = approvalPolicy;
    const record = await ctx.waitingOnHumans(() =>
      ctx.desk.request({
        tool: call.name,
        args,
        reason: [reason, policy.note].filter(Boolean).join(' '),
        requestedBy: actor,
        policy: approval,
        callId: call.id,
      }),
    );
    const refusal = refusalForAgent(record, approval);
    if (refusal !== undefined) return refuse(ctx, actor, call, 'not_run', refusal, false, record.id);
  }
  // Counted once let run, whatever comes of it: a call that fails may still have taken effect. State only, no command.
  tallyRun((ctx.r.toolsRan ??= {}), call.name, args);
  ctx.r.step += 1;
  const activityId = changed(Patch.toolKeyPerExecution)
    ? `tool-${ctx.r.step}-${call.name}@${workflowInfo().firstExecutionRunId}`
    : `tool-${ctx.r.step}-${call.name}`;
  const local = !mcp && runsLocally(spec!) && changed(Patch.localBuiltinTools);
  try {
    const mcpCall = mcp ? ctx.mcp.call(mcp, actor, args, activityId) : undefined;
    const options = () => ({
      activityId,
      summary: `${actor}: ${call.name} ${inlineValue(args)}`,
      startToCloseTimeout: durationMs(spec!.timeout) + 5_000,
      retry: toolRetry(spec!),
    });
    const request = { goal: ctx.bp.name, agent: actor, tool: call.name, spec: spec!, args };
    const result = mcpCall
      ? await runTool.executeWithOptions(mcpCall.options, [mcpCall.request])
      : local
        ? await runLocalTool.executeWithOptions(options(), [{ ...request, activityId }])
        : await runTool.executeWithOptions(options(), [request]);
    return { output: result.output, repair: false, ...(result.stored ? { stored: result.stored } : {}) };
  } catch (err) {
    // A scheduled activity fails as an ActivityFailure around its cause; a local activity with the cause itself.
    const cause = err instanceof ActivityFailure ? err.cause : local ? err : undefined;
    if (cause instanceof ApplicationFailure) {
      const repair = cause.type === ToolError.InvalidArguments;
      if (repair) return refuse(ctx, actor, call, 'invalid_arguments', `error: ${cause.message}`, true);
      recordFact({
        fact: 'tool',
        callId: call.id,
        tool: call.name,
        agent: actor,
        outcome: 'failed',
        summary: cause.message,
      });
      return { output: `error: ${cause.message}`, repair: false };
    }
    if (cause instanceof TimeoutFailure && changed(Patch.toolOutcomeUnknown)) {
      return refuse(
        ctx,
        actor,
        call,
        'outcome_unknown',
        `outcome unknown: ${call.name} did not report back (${cause.message}); it may or may not have taken ` +
          `effect and it was not retried: check before you act on it or call it again`,
        false,
      );
    }
    throw err;
  }
}
