/**
 * What a goal shows outside its history: the search attributes (BatonGoal, BatonStatus, BatonApprovers,
 * BatonCostUsd; DESIGN §2.1) and the Web UI's current details, both derived from the goal record.
 */
import type { TypedSearchAttributes } from '@temporalio/common';
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Blueprint } from '../blueprint/schema.js';
import type { ApprovalDesk } from './approval-wait.js';
import type { GoalRecord } from './definitions.js';
import { BatonApprovers, BatonCostUsd, BatonGoal, BatonStatus } from './search-attributes.js';
import { inlineValue } from './summaries.js';

/** Publishes one goal's record. */
export class Publisher {
  /** Search attribute values last written, so unchanged values add no history events. */
  private published = '';

  /**
   * `started`: the search attributes the run started with, when the goal counts them as published
   * (Patch.startSearchAttributes): a run that started with the values it would publish first writes none of them.
   */
  constructor(
    private readonly bp: Blueprint,
    started?: TypedSearchAttributes,
  ) {
    if (started && started.get(BatonGoal) === bp.name) {
      const status = started.get(BatonStatus);
      const cost = started.get(BatonCostUsd);
      if (status !== undefined && cost !== undefined) {
        this.published = snapshot(status, [...(started.get(BatonApprovers) ?? [])].sort(), cost);
      }
    }
  }

  /** Publishes the record: search attributes when their values changed, the Web UI's details always. */
  publish(r: GoalRecord, desk: ApprovalDesk): void {
    const pending = desk.pending();
    const asked = r.questions.filter((q) => q.status === 'pending');
    // With verified identity the identity provider's groups count too, so the group references are listed as well.
    const groups = desk.gate.active
      ? [...pending.flatMap((a) => a.approvers), ...asked.flatMap((q) => q.to)].filter((ref) =>
          ref.startsWith('group:'),
        )
      : [];
    const approvers = [...new Set([...desk.waitingOn(), ...asked.flatMap((q) => q.eligible), ...groups])].sort();
    const cost = Math.round(r.usage.costUsd * 1e6) / 1e6;
    const now = snapshot(r.status, approvers, cost);
    if (now !== this.published) {
      this.published = now;
      upsertSearchAttributes([
        { key: BatonGoal, value: this.bp.name },
        { key: BatonStatus, value: r.status },
        { key: BatonApprovers, value: approvers },
        { key: BatonCostUsd, value: cost },
      ]);
    }
    const lines = [
      `**${this.bp.name}** · ${r.status} · agent ${r.agent} · step ${r.step} · run ${r.run}`,
      `tokens ${r.usage.inputTokens} in / ${r.usage.outputTokens} out${r.usage.estimatedTokens ? ` (${r.usage.estimatedTokens} estimated)` : ''} · $${r.usage.costUsd.toFixed(4)}`,
      ...pending.map((a) => `waiting: ${a.id} ${a.tool} ${inlineValue(a.args, 60)} for ${a.eligible.join(', ')}`),
      ...asked.map((q) => `asking: ${q.id} ${inlineValue(q.question, 60)} of ${q.eligible.join(', ')}`),
      ...r.tasks.map((t) => `task ${t.id} ${t.agent} · ${t.status} · ${t.workflowId}`),
    ];
    if (r.plan)
      lines.push(`plan r${r.plan.revision}: ${r.plan.steps.map((s) => `[${s.status}] ${s.task}`).join('; ')}`);
    if (r.result) lines.push(`result: ${r.result.answer ?? r.result.reason ?? r.result.status}`);
    setCurrentDetails(lines.join('\n'));
  }
}

/** The published values in the form they are compared in: status, approvers (sorted) and cost. */
function snapshot(status: string, approvers: string[], cost: number): string {
  return JSON.stringify([status, approvers, cost]);
}
