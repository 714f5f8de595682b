/**
 * The `delegate` engine tool: starts sub-tasks as child goals at the same time, each with a share of the budget,
 * and gathers their results, usage, steps, shared-memory writes and human-wait time into the parent's record.
 */
import { workflowInfo } from '@temporalio/workflow';
import { addUsageNotes, taskShare } from './budget.js';
import type { TaskRecord } from './definitions.js';
import { runTasks, taskWorkflowId } from './delegation.js';
import type { CallOutcome, EngineContext } from './engine-context.js';
import { mergeMemory } from './memory.js';
import { changed, Patch } from './patches.js';
import { inlineValue } from './summaries.js';

/** delegate: starts the sub-tasks as child goals, at the same time, and gathers their results. */
export async function delegate(
  ctx: EngineContext,
  actor: string,
  tasks: { agent: string; task: string }[],
): Promise<CallOutcome> {
  const share = taskShare(ctx.currentBudget(), tasks.length);
  if (typeof share === 'string') return { output: `error: ${share}`, repair: false };
  const parentId = workflowInfo().workflowId;
  const records = tasks.map((t): TaskRecord => {
    const id = `t-${ctx.r.tasks.length + 1}`;
    const record: TaskRecord = {
      id,
      workflowId: taskWorkflowId(parentId, id, t.agent),
      agent: t.agent,
      task: t.task,
      status: 'starting',
      budget: share,
      startedAtStep: ctx.r.step,
    };
    ctx.r.tasks.push(record);
    return record;
  });
  ctx.publish();
  const since = Date.now();
  const outcomes = await runTasks(
    records.map((r) => ({
      workflowId: r.workflowId,
      summary: `${r.agent}: ${inlineValue(r.task, 100)}`,
      args: {
        blueprint: ctx.bp,
        input: ctx.args.input,
        blueprintHash: ctx.args.blueprintHash,
        startedBy: ctx.args.startedBy,
        ...(ctx.args.startAssertion ? { startAssertion: ctx.args.startAssertion } : {}),
        task: {
          parentId,
          taskId: r.id,
          agent: r.agent,
          from: actor,
          task: r.task,
          budget: share,
          memory: ctx.r.memory.map((e) => ({ ...e })),
          ...(ctx.mcp.used ? { mcp: ctx.mcp.pinned } : {}),
        },
      },
    })),
    (i) => {
      const r = records[i];
      if (r && r.status === 'starting') r.status = 'running';
      ctx.publish();
    },
  );
  if (changed(Patch.childHumanWaits)) {
    // The tasks ran at the same time: the longest human wait among them is time this goal spent on humans too.
    const childWaits = Math.max(0, ...outcomes.map((o) => o.humanWaitMs ?? 0));
    ctx.r.humanWaitMs += Math.min(childWaits, Date.now() - since);
  }
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
      ctx.r.usage.inputTokens += o.usage.inputTokens;
      ctx.r.usage.outputTokens += o.usage.outputTokens;
      ctx.r.usage.costUsd += o.usage.costUsd;
      addUsageNotes(ctx.r.usage, o.usage);
    }
    if (o.steps !== undefined) {
      r.steps = o.steps;
      ctx.r.budget.delegatedSteps += o.steps;
    }
    if (o.memoryWrites?.length) {
      mergeMemory(ctx.r.memory, o.memoryWrites, ctx.limits.memoryEntries);
      merged.push(...o.memoryWrites.map((e) => e.key));
    }
  });
  ctx.publish();
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
