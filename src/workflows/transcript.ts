/**
 * What the model sees: the current agent's system prompt, built at each call, and a bounded window of the
 * transcript. The window keeps the goal's opening message and the latest messages, so model requests (and the
 * history that records them) stay the same size however long the goal runs.
 */
import type { AgentSpec, Blueprint } from '../blueprint/schema.js';
import type { ChatMessage, DelegatedTask } from './definitions.js';
import type { ToolOffer } from './engine-tools.js';

/** The opening message: the goal input, or for a delegated task the task and the goal input. */
export function openingMessage(input: unknown, task: DelegatedTask | undefined): string {
  const goalInput = `Goal input:\n${JSON.stringify(input ?? {}, null, 2)}`;
  return task ? `Sub-task from ${task.from} (${task.taskId}):\n${task.task}\n\n${goalInput}` : goalInput;
}

/** The system prompt of `name`, from its role, instructions and the tools it is offered now. */
export function systemPrompt(
  bp: Blueprint,
  name: string,
  agent: AgentSpec,
  offers: ReadonlyMap<string, ToolOffer>,
  task: DelegatedTask | undefined,
): string {
  const kinds = new Set([...offers.values()].map((o) => o.tool.kind));
  const validating = kinds.has('accept_answer');
  return [
    `You are the ${name} agent (role: ${agent.role}) working on the goal "${bp.name}".`,
    bp.description ? `Goal: ${bp.description}` : '',
    task ? `You work on a sub-task that the ${task.from} agent delegated; your final answer goes back to it.` : '',
    agent.instructions.trim(),
    kinds.has('handoff')
      ? 'To pass the goal to another agent, call its handoff tool with a note of what it needs.'
      : '',
    kinds.has('delegate') ? 'Use delegate for independent sub-tasks that can run at the same time.' : '',
    kinds.has('plan') ? 'Record your plan with the plan tool before acting, and update it as steps are done.' : '',
    kinds.has('memory_write') ? 'Save facts other agents need with memory_write.' : '',
    validating
      ? 'An answer waits for your verdict: check it, then call accept_answer, or reject_answer with feedback.'
      : 'When you are done, reply with the final answer as plain text and no tool calls.',
  ]
    .filter(Boolean)
    .join('\n\n');
}

/**
 * The messages a model call sees: the opening message and the latest `size` ones. The window never starts with a
 * tool result whose call it cut off (model endpoints reject that): it reaches back to the call instead, so the
 * latest exchange is always whole.
 */
export function contextWindow(messages: readonly ChatMessage[], size: number): ChatMessage[] {
  const [opening, ...rest] = messages;
  if (!opening) return [];
  let start = Math.max(0, rest.length - size);
  while (start > 0 && rest[start]?.role === 'tool') start -= 1;
  return [opening, ...rest.slice(start)];
}
