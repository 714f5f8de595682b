/**
 * The benchmark agent's tools. `step` is a builtin that returns at once, so what is measured is orchestration, not
 * the tool. `guarded_step` is an HTTP tool that needs approval; it calls the driver's tool server (tool-server.ts).
 */
import { z } from 'zod';
import type { BuiltinTool, ToolDescriptor } from '../src/activities/index.js';

const StepArgs = z.object({
  n: z.int().describe('which step this is'),
  bytes: z.int().nonnegative().optional().describe('how long the report of the step is (a document read)'),
});

/** A step's report of `bytes` characters of varied words, the step's completion at its very end. */
function report(n: number, bytes: number): string {
  const done = stepDone(n);
  const words = ['ledger', 'invoice', 'vendor', 'payment', 'quarter', 'forecast', 'contract', 'audit', 'refund'];
  let text = '';
  for (let i = 0; text.length < bytes - done.length - 2; i++) text += `${words[(i * 7 + n) % words.length]} ${i} `;
  return `${text.slice(0, Math.max(0, bytes - done.length - 1))} ${done}`;
}

/** `guarded_step`'s arguments, as the blueprint declares them. */
export const guardedParameters = {
  type: 'object',
  required: ['n'],
  properties: { n: { type: 'integer', description: 'which step this is' } },
};

export const toolDescriptions = {
  step: 'Do one step of the work',
  guarded_step: 'Do one step of the work that needs approval',
} as const;

/** What a step's tool returns once step `n` is done (the builtin and the tool server both say it). */
export function stepDone(n: unknown): string {
  return `step ${String(n)} done`;
}

/** The builtins a bench worker registers. */
export function benchBuiltins(): Record<string, BuiltinTool> {
  const step: BuiltinTool<typeof StepArgs> = {
    description: toolDescriptions.step,
    schema: StepArgs,
    run: ({ n, bytes }) => Promise.resolve(bytes ? report(n, bytes) : stepDone(n)),
  };
  return { bench_step: step };
}

/** The tools as the model sees them: what Baton's goal loop sends, for the floor and the peer to send too. */
export function benchToolDescriptors(): ToolDescriptor[] {
  return [
    {
      name: 'step',
      description: toolDescriptions.step,
      parameters: z.toJSONSchema(StepArgs, { io: 'input' }),
    },
    { name: 'guarded_step', description: toolDescriptions.guarded_step, parameters: guardedParameters },
  ];
}
