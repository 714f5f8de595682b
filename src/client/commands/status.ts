/** `baton status`: a goal's state, readable, with any call Temporal is retrying and any reply streaming now. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import type { GoalState, Usage } from '../../workflows/definitions.js';
import { statusColor, styleFor, type Style } from '../output.js';
import { describeRetry, retryingCalls, type RetryingCall } from '../retrying.js';
import { EXAMPLE_ID, approvalHistory, describeApproval, examples, jsonOption, out, type JsonFlag } from '../text.js';
import { connect, goals } from './connect.js';

/** `1200 in / 300 out tokens (80 cached; 450 estimated: counted, the endpoint sent no usage), $0.0012`. */
export function describeUsage(u: Usage): string {
  const notes = [
    ...(u.cachedInputTokens ? [`${u.cachedInputTokens} cached`] : []),
    ...(u.estimatedTokens ? [`${u.estimatedTokens} estimated: counted, the endpoint sent no usage`] : []),
  ];
  const noted = notes.length ? ` (${notes.join('; ')})` : '';
  return `${u.inputTokens} in / ${u.outputTokens} out tokens${noted}, $${u.costUsd.toFixed(4)}`;
}

function describeState(
  id: string,
  s: GoalState,
  live: { retrying: RetryingCall[]; streaming: string[] },
  url: string,
  style: Style,
): string {
  const lines = [
    `goal      ${style.bold(id)} (${s.goal})`,
    `status    ${statusColor(style, s.status)}`,
    `agent     ${s.agent}, step ${s.step}`,
    `usage     ${describeUsage(s.usage)}`,
    `web ui    ${url}`,
  ];
  for (const r of live.retrying) lines.push(style.red(`retrying  ${describeRetry(r)}`));
  for (const line of live.streaming) lines.push(`model     ${line}`);
  for (const a of s.approvals) {
    lines.push(`approval  ${describeApproval(a)}`);
    for (const h of approvalHistory(a)) lines.push(`            ${h}`);
  }
  for (const r of s.refusedDecisions)
    lines.push(style.red(`refused   ${r.by} → ${r.approvalId} (${r.via}, ${r.at}): ${r.reason}`));
  if (s.result)
    lines.push(`result    ${statusColor(style, s.result.status)}: ${s.result.answer ?? s.result.reason ?? ''}`);
  for (const q of s.pendingQuestions ?? []) {
    lines.push(`question  ${q.id} from ${q.agent}: ${q.question} · for ${q.eligible.join(', ')}`);
  }
  if (s.pendingApprovals[0])
    lines.push(style.dim(`decide    npx baton approve ${id} ${s.pendingApprovals[0].id} --comment "..."`));
  if (s.pendingQuestions?.[0])
    lines.push(style.dim(`answer    npx baton reply ${id} ${s.pendingQuestions[0].id} "..."`));
  return lines.join('\n');
}

/** Adds `baton status`. */
export function addStatus(program: Command): void {
  program
    .command('status')
    .description("a goal's state: status, agent, step, calls being retried or streaming, approvals, usage, result")
    .argument('<id>', 'goal id')
    .addOption(jsonOption())
    .addHelpText('after', examples(`npx baton status ${EXAMPLE_ID}`))
    .action(async (id: string, opts: JsonFlag) => {
      const c = loadConfig();
      const { describeGoal, goalState, goalUrl } = await goals();
      const client = await connect(c);
      const state = await goalState(client, id);
      const description = await describeGoal(client, id);
      const retrying = retryingCalls(description);
      const { describeStreaming, streamingCalls } = await import('../../audit/streaming.js');
      const streaming = await streamingCalls(client, description);
      const live = { retrying, streaming: streaming.map((s) => `${s.activityId} ${describeStreaming(s, 120)}`) };
      out(opts, { goalId: id, ...state, retrying, streaming }, () =>
        describeState(id, state, live, goalUrl(c, id), styleFor(process.stdout)),
      );
    });
}
