/**
 * The benchmark's agent: a blueprint whose one agent takes N steps (a model call that asks for a tool, then the tool)
 * and then answers, with the scripted model's replies for it. With `guardedAt`, that step's tool needs approval.
 * The blueprint goes through Baton's own loader, so it is exactly what `baton start` would run.
 */
import { parseBlueprint, type LoadedBlueprint } from '../src/blueprint/load.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { benchToolDescriptors, guardedParameters, stepDone, toolDescriptions } from './tools.js';
import type { ToolDescriptor } from '../src/activities/index.js';

export interface BenchAgent {
  loaded: LoadedBlueprint;
  script: ScriptInput;
  steps: number;
  /** The step (1-based) whose tool needs approval, if any. */
  guardedAt?: number;
  /** The blueprint's YAML, as an operator registers it. */
  yaml: string;
  /** The tools the agent offers the model, as Baton describes them. */
  tools: ToolDescriptor[];
}

/** The approver who decides every benchmark approval. */
export const BENCH_APPROVER = 'bench';

/**
 * A goal named `name` that runs `steps` steps; step `guardedAt` (1-based), if given, waits for approval first.
 * Only the tools the goal uses are declared: a goal of guarded steps alone has no builtin, as HTTP-only goals do.
 */
export function benchAgent(
  name: string,
  steps: number,
  guardedAt?: number,
  outputBytes?: (step: number) => number,
): BenchAgent {
  const plain = guardedAt === undefined || steps > 1;
  const tools = [...(plain ? ['step'] : []), ...(guardedAt === undefined ? [] : ['guarded_step'])];
  const yaml = `
apiVersion: baton/v1
name: ${name}
description: Benchmark agent, ${steps} steps${guardedAt ? `, approval before step ${guardedAt}` : ''}
models:
  default: { model: scripted-bench, temperature: 0, price: { input: 0.15, output: 0.6 } }
agents:
  worker:
    role: executor
    instructions: Do the steps you are given, one tool call at a time, then report that you are done.
    tools: [${tools.join(', ')}]
entry: worker
tools:
${plain ? `  step: { type: builtin, function: bench_step, description: '${toolDescriptions.step}', sideEffect: none, timeout: 2s }` : ''}
${
  guardedAt === undefined
    ? ''
    : `  guarded_step:
    type: http
    method: POST
    url: '\${env:BENCH_TOOL_URL}/guarded'
    body: { n: '{{n}}' }
    description: ${toolDescriptions.guarded_step}
    sideEffect: idempotent
    parameters: ${JSON.stringify(guardedParameters)}
    approval: { approvers: [${BENCH_APPROVER}] }`
}
budget: { maxSteps: ${2 * steps + 10}, onExceeded: fail }
`;
  // Each tool result says which step it finished ("step k done"), and the script answers that text: the reply to
  // step k's result is step k+1 (or the answer after the last), however much of the transcript the model is shown.
  const replies: ScriptInput['replies'] = [];
  const call = (n: number) => ({
    toolCalls: [
      {
        name: n === guardedAt ? 'guarded_step' : 'step',
        arguments: outputBytes && n !== guardedAt ? { n, bytes: outputBytes(n) } : { n },
      },
    ],
  });
  replies.push({ when: { after: 'user' }, ...call(1) });
  for (let k = 1; k < steps; k++) replies.push({ when: { after: 'tool', contains: stepDone(k) }, ...call(k + 1) });
  replies.push({ when: { after: 'tool', contains: stepDone(steps) }, content: `All ${steps} steps are done.` });
  return {
    loaded: parseBlueprint(yaml, `bench/${name}.yaml`),
    script: { goal: name, replies },
    steps,
    ...(guardedAt === undefined ? {} : { guardedAt }),
    yaml,
    tools: benchToolDescriptors().filter((t) => tools.includes(t.name)),
  };
}
