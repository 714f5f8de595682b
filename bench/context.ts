/**
 * What every benchmark section shares: the dev server, the scripted model, the two workflow bundles, and the way a
 * goal is run on Baton (through `startGoal`, as `baton start` does) or on the hand-written floor.
 */
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startGoal } from '../src/client/goals.js';
import type { ScriptedModel } from '../src/scripted-model/server.js';
import type { goalWorkflow } from '../src/workflows/goal.js';
import type { BenchAgent } from './agent.js';
import type { BenchConfig } from './config.js';
import { BENCH_STARTER, type BenchIdentity } from './identity.js';
import type { ToolServer } from './tool-server.js';
import { BenchWorker } from './workers.js';
import type { RawAgentArgs, rawAgentWorkflow } from './workflows/raw-agent.js';

export interface BenchContext {
  config: BenchConfig;
  client: Client;
  address: string;
  namespace: string;
  model: ScriptedModel;
  /** Baton's prebuilt workflow bundle (dist/workflow-bundle.js). */
  batonBundle: string;
  /** The hand-written floor's bundle, built at the start of the run. */
  rawBundle: string;
  /** Where `guarded_step` calls land (the approve→resume side channel). */
  tools: ToolServer;
  /** The gateway key, trust file and blueprint registry: starts and decisions are signed (bench/identity.ts). */
  identity: BenchIdentity;
  /** A directory for this run's files, removed at the end. */
  scratch: string;
  /** The dev server's process, for its CPU time; undefined when it could not be found. */
  serverPid: number | undefined;
  log(message: string): void;
}

/** Which workflow code a worker runs. */
export type Flavor = 'baton' | 'raw';

/** Starts a worker process for one flavor on a fresh task queue; both flavors get the same worker options. */
export async function startWorker(
  ctx: BenchContext,
  flavor: Flavor,
  opts: { maxCachedWorkflows?: number; payloadStore?: string } = {},
): Promise<{ worker: BenchWorker; taskQueue: string }> {
  const taskQueue = `bench-${flavor}-${randomUUID().slice(0, 8)}`;
  const worker = await BenchWorker.start({
    address: ctx.address,
    namespace: ctx.namespace,
    taskQueue,
    modelBaseURL: ctx.model.baseURL,
    env: { BENCH_TOOL_URL: ctx.tools.url },
    workflowCode: { workflowBundle: { codePath: flavor === 'baton' ? ctx.batonBundle : ctx.rawBundle } },
    trust: ctx.identity.files,
    ...opts,
  });
  return { worker, taskQueue };
}

/** The floor's argument for the same agent: the same model settings, tools and opening messages as Baton sends. */
export function rawArgs(agent: BenchAgent): RawAgentArgs {
  const bp = agent.loaded.blueprint;
  const name = bp.entry;
  const spec = bp.agents[name]!;
  return {
    goal: bp.name,
    agent: name,
    settings: bp.models[spec.model]!,
    tools: agent.tools,
    specs: bp.tools,
    messages: [
      {
        role: 'system',
        content: `You are the ${name} agent (role: ${spec.role}) working on the goal "${bp.name}".\n\nGoal: ${bp.description ?? ''}\n\n${spec.instructions}\n\nWhen you are done, reply with the final answer as plain text and no tool calls.`,
      },
      { role: 'user', content: 'Goal input:\n{}' },
    ],
    maxSteps: bp.budget.maxSteps,
    ...(process.env.BENCH_RAW_LOCAL_TOOLS === '1' ? { localTools: true } : {}),
  };
}

/** A started goal of either flavor. */
export type GoalHandle = WorkflowHandle<typeof goalWorkflow> | WorkflowHandle<typeof rawAgentWorkflow>;

/**
 * Starts one goal of the agent on the task queue: on Baton as a signed-in person's `baton start` does (the gateway
 * signs the start of a registered blueprint; `startGoal`), or as the floor.
 */
export async function startAgent(
  ctx: BenchContext,
  flavor: Flavor,
  agent: BenchAgent,
  taskQueue: string,
  id: string,
): Promise<{ handle: GoalHandle; firstRunId: string }> {
  if (flavor === 'baton') {
    ctx.identity.register(agent);
    const startAssertion = ctx.identity.signStart(id, agent, {});
    const handle = await startGoal(ctx.client, {
      loaded: agent.loaded,
      input: {},
      id,
      startedBy: BENCH_STARTER,
      startAssertion,
      taskQueue,
    });
    return { handle, firstRunId: handle.firstExecutionRunId };
  }
  const handle = await ctx.client.workflow.start<typeof rawAgentWorkflow>('rawAgentWorkflow', {
    workflowId: id,
    taskQueue,
    args: [rawArgs(agent)],
  });
  return { handle, firstRunId: handle.firstExecutionRunId };
}

/** Checks that a goal ended the way the script says it must, so no figure comes from a failed run. */
export function expectDone(agent: BenchAgent, id: string, result: { answer?: string }): void {
  if (!result.answer?.includes(`All ${agent.steps} steps are done`)) {
    throw new Error(`goal ${id} ended without the scripted answer: ${JSON.stringify(result).slice(0, 300)}`);
  }
}
