/**
 * The floor Baton is measured against: the agent loop as one would write it by hand on Temporal. It calls Baton's
 * own `callModel` and `runTool` activities with the same retry profiles, keeps the same transcript and continues as
 * new when the server suggests it, and does nothing else: no permissions, approvals, budgets, search attributes,
 * summaries or queries. Bench-only; bundled separately from Baton's workflows.
 */
import {
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, ToolDescriptor } from '../../src/activities/index.js';
import type { ModelSettings, ToolSpec } from '../../src/blueprint/schema.js';
import type { ChatMessage } from '../../src/workflows/definitions.js';

export interface RawAgentArgs {
  goal: string;
  agent: string;
  settings: ModelSettings;
  tools: ToolDescriptor[];
  specs: Record<string, ToolSpec>;
  messages: ChatMessage[];
  maxSteps: number;
  /** Run tools without side effects as local activities (an experiment: BENCH_RAW_LOCAL_TOOLS=1). */
  localTools?: boolean;
  /** Carried by continue-as-new. */
  step?: number;
}

// The same options as Baton's `modelCall` and `toolCall` profiles (src/workflows/goal.ts).
const { callModel } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 8,
    nonRetryableErrorTypes: ['ModelInvocationError.Rejected', 'ModelInvocationError.Auth'],
  },
});
const { runTool } = proxyActivities<Activities>({
  startToCloseTimeout: '35s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

const { runTool: runToolLocally } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '35s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/** Calls the model, runs the tools it asks for, until it answers. */
export async function rawAgentWorkflow(args: RawAgentArgs): Promise<{ answer: string; steps: number }> {
  const messages = [...args.messages];
  let step = args.step ?? 0;
  for (;;) {
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof rawAgentWorkflow>({ ...args, messages, step });
    }
    if (step >= args.maxSteps) throw ApplicationFailure.nonRetryable(`step budget of ${args.maxSteps} used up`);
    step += 1;
    const reply = await callModel({
      goal: args.goal,
      agent: args.agent,
      settings: args.settings,
      messages,
      tools: args.tools,
    });
    messages.push({
      role: 'assistant',
      content: reply.content,
      ...(reply.toolCalls.length ? { toolCalls: reply.toolCalls } : {}),
    });
    if (reply.toolCalls.length === 0) return { answer: reply.content ?? '', steps: step };
    for (const call of reply.toolCalls) {
      const spec = args.specs[call.name];
      if (!spec) throw ApplicationFailure.nonRetryable(`the model asked for unknown tool ${call.name}`);
      step += 1;
      const run = args.localTools && spec.sideEffect === 'none' ? runToolLocally : runTool;
      const result = await run({
        goal: args.goal,
        agent: args.agent,
        tool: call.name,
        spec,
        args: JSON.parse(call.arguments) as unknown,
      });
      messages.push({ role: 'tool', toolCallId: call.id, content: result.output });
    }
  }
}
