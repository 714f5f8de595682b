/** The Web UI's static details of a goal (Markdown), set when the goal starts. */
import type { Blueprint } from '../blueprint/schema.js';

/**
 * The Web UI's static details of a goal (Markdown): what it is for, who may do what, which calls wait for whom,
 * the budget, and where its audit trail is.
 */
export function goalDetails(bp: Blueprint, hash: string, startedBy: string, goalId: string): string {
  const toolNote = (name: string): string => {
    const approval = bp.tools[name]?.approval;
    if (!approval) return name;
    const when = approval.when === undefined ? 'always' : `when \`${approval.when}\``;
    return `${name} (approval ${when} by ${approval.approvers.join(', ')}${approval.quorum > 1 ? `, quorum ${approval.quorum}` : ''})`;
  };
  const budget = bp.budget;
  return [
    bp.description ? `**${bp.description}**` : `**${bp.name}**`,
    '',
    `Blueprint \`${bp.name}\`, sha256 \`${hash}\`, started by **${startedBy}**.`,
    '',
    ...Object.entries(bp.agents).map(([name, a]) => {
      const may = [...a.tools.map(toolNote), ...a.handoffs.map((h) => `hand off to ${h}`)].join(', ');
      return `- **${name}** (${a.role}${name === bp.entry ? ', starts' : ''}${name === bp.validator ? ', validates' : ''}): ${may || 'no tools'}`;
    }),
    '',
    `Budget: ${budget.maxSteps} steps${budget.maxTokens === undefined ? '' : `, ${budget.maxTokens} tokens`}${budget.maxCostUsd === undefined ? '' : `, $${budget.maxCostUsd}`}; when exceeded: ${budget.onExceeded}.`,
    '',
    `Follow it with \`baton watch ${goalId}\`; its audit trail: \`baton audit ${goalId}\`.`,
  ].join('\n');
}
