/**
 * What `record-histories` records: every example goal, and scenarios of the waits and failure paths (an example's
 * blueprint changed as the scenario needs, its waits settled as it says). Every id says the path it takes and the
 * generation of workflow code that recorded it: `<example>--<generation>` and `<example>--<generation>--<scenario>`.
 * Since verified identity (issue 12) goals are started, decided and answered with signed assertions. Each generation
 * is kept once recorded, so that goals still running on the markers it carries keep replaying; only the current one
 * is recorded. The histories with no generation in their name were recorded before verified identity, on the
 * by-name path no current worker takes for a new goal.
 */
import type { ScriptInput } from '../scripted-model/script.js';

/** How a goal's waits are settled. */
export interface Settling {
  approvals: 'approve' | 'reject' | 'ignore';
  questions: 'answer' | 'ignore';
  /**
   * Votes go through the `approval` signal, each after four the workflow must refuse and record: unsigned, signed
   * with a key nobody trusts, signed by someone who is not an approver, and the starter's own approval.
   */
  refusedFirst?: boolean;
}

/** One recording: the history's name (also the goal's workflow id), the example it runs, and how. */
export interface Scenario extends Settling {
  id: string;
  goal: string;
  edit?: (yaml: string) => string;
  /** Scripted replies for the paths the example's script does not take, tried before the script's own. */
  replies?: ScriptInput['replies'];
  /** Also write the history of the goal's first delegated task, if it delegates. */
  child?: boolean;
  /** Who starts the goal (default {@link STARTER}). */
  startedBy?: string;
}

/** Who starts goals: a signed-in person in no approver group, so separation of duties never stops a vote. */
export const STARTER = 'recorder';

/**
 * The generations of recordings under verified identity, oldest first: `verified` (issue 12: one `patched()` marker
 * per change), `baseline-1` (issue 16: the changes so far under the one `baton-patch-baseline-1` marker),
 * `baseline-2` (issue 16: those and the search attributes a goal starts with, under `baton-patch-baseline-2`).
 */
export const GENERATIONS = ['verified', 'baseline-1', 'baseline-2'] as const;
export type Generation = (typeof GENERATIONS)[number];
/** The generation `record-histories` records: what the current workflow code writes for a new goal. */
export const CURRENT: Generation = 'baseline-2';

/** The name of a history of `goal` (and `scenario`) recorded by `generation`. */
export function recorded(generation: Generation, goal: string, scenario?: string): string {
  return `${goal}--${generation}${scenario ? `--${scenario}` : ''}`;
}

/** The recording of an example as it is: every approval approved, every question answered. */
export function example(goal: string, generation: Generation = CURRENT): Scenario {
  return { id: recorded(generation, goal), goal, approvals: 'approve', questions: 'answer', child: true };
}

/** A scripted reply of `agent` after the result of `tool` that contains `contains`. */
function answer(agent: string, tool: string, contains: string, content: string): ScriptInput['replies'][number] {
  return { when: { agent, tool, contains }, content };
}

/** A delegation scenario of infra-provisioning: the parent and its first child goal are recorded. */
function delegation(
  generation: Generation,
  name: string,
  s: Pick<Scenario, 'edit' | 'replies' | 'approvals'>,
): Scenario {
  return {
    id: recorded(generation, 'infra-provisioning', name),
    goal: 'infra-provisioning',
    questions: 'answer',
    child: true,
    ...s,
  };
}

/** The infra-provisioning example with its component plans needing the platform team's approval. */
function plansNeedApproval(yaml: string, approval: string): string {
  return yaml.replace(
    '    sideEffect: idempotent\n',
    `    sideEffect: idempotent\n    approval: { approvers: [group:platform]${approval} }\n`,
  );
}

/** The scenarios beyond the examples, as `generation` names them. */
export function scenarios(generation: Generation = CURRENT): Scenario[] {
  const named = (goal: string, scenario: string) => recorded(generation, goal, scenario);
  return [
    { id: named('refund-request', 'rejected'), goal: 'refund-request', approvals: 'reject', questions: 'answer' },
    {
      // carol, a finance approver, starts the goal: her own approval is one of the refusals.
      id: named('refund-request', 'refused-then-approved'),
      goal: 'refund-request',
      startedBy: 'carol',
      approvals: 'approve',
      refusedFirst: true,
      questions: 'answer',
    },
    {
      id: named('refund-request', 'approval-timeout'),
      goal: 'refund-request',
      edit: (y) => y.replace('      remind: 1d\n', '').replace('timeout: 14d', 'timeout: 2s'),
      approvals: 'ignore',
      questions: 'answer',
    },
    {
      id: named('refund-request', 'budget-ask'),
      goal: 'refund-request',
      edit: (y) =>
        y.replace(
          'budget: { maxSteps: 12, maxCostUsd: 1, onExceeded: fail }',
          'budget: { maxSteps: 2, onExceeded: ask, approval: { approvers: [group:finance] } }',
        ),
      approvals: 'approve',
      questions: 'answer',
    },
    // Nine steps: the planner's model call, plan and delegate leave six, shared three ways; an executor's two end
    // before its second model call.
    delegation(generation, 'child-over-budget', {
      edit: (y) => y.replace('budget: { maxSteps: 30,', 'budget: { maxSteps: 9,'),
      replies: [
        answer(
          'planner',
          'delegate',
          '"status":"failed"',
          'Both component plans failed (their step budget ran out); nothing was applied.',
        ),
      ],
      approvals: 'approve',
    }),
    delegation(generation, 'child-rejected', {
      edit: (y) => plansNeedApproval(y, ''),
      replies: [
        answer(
          'executor',
          'infra_plan',
          'not run',
          'No plan for this component: the platform team did not approve planning it.',
        ),
        answer(
          'planner',
          'delegate',
          'did not approve',
          'Stopping: the platform team did not approve the component plans, so there is nothing to apply.',
        ),
      ],
      approvals: 'reject',
    }),
    delegation(generation, 'child-approval-timeout', {
      edit: (y) => plansNeedApproval(y, ', timeout: 2s, onTimeout: cancel'),
      replies: [
        answer(
          'planner',
          'delegate',
          '"status":"cancelled"',
          'Stopping: nobody approved the component plans in time and the tasks were cancelled.',
        ),
      ],
      approvals: 'ignore',
    }),
    {
      id: named('security-alert', 'unanswered'),
      goal: 'security-alert',
      edit: (y) => y.replace('timeout: 4h', 'timeout: 2s'),
      approvals: 'approve',
      questions: 'ignore',
    },
  ];
}
