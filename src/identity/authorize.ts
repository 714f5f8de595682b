/**
 * Who may act, from verified identities only: approver references matched against a verified subject and the
 * Baton groups the operator's mapping grants, separation of duties, and the bounded log of refused attempts.
 * Pure; runs in the workflow sandbox.
 */

/** A verified person, as authorization needs it. */
export interface Actor {
  subject: string;
  groups: readonly string[];
}

/**
 * True when `actor` is among approver references (`alice`, `group:finance`, `*`): by subject, by a Baton group
 * the trust mapping grants, or by membership the (registered) blueprint lists under `approvers:`.
 */
export function actorMatches(
  refs: readonly string[],
  blueprintGroups: Readonly<Record<string, readonly string[]>>,
  actor: Actor,
): boolean {
  return refs.some((ref) => {
    if (ref === '*' || ref === actor.subject) return true;
    if (!ref.startsWith('group:')) return false;
    const group = ref.slice(6);
    return actor.groups.includes(group) || (blueprintGroups[group] ?? []).includes(actor.subject);
  });
}

/** Whether the person who started a goal may approve its requests: `forbid` unless the policy opts in. */
export type SelfApproval = 'forbid' | 'allow';

/** Why `subject` may not approve a goal `startedBy` started, or undefined when separation of duties holds. */
export function selfApprovalRefusal(
  policy: SelfApproval | undefined,
  startedBy: string,
  subject: string,
  decision: 'approve' | 'reject',
): string | undefined {
  if ((policy ?? 'forbid') === 'allow' || decision === 'reject' || startedBy !== subject) return undefined;
  return `${subject} started this goal and may not approve its own request (selfApproval: forbid); another approver must decide`;
}

/** How many refused attempts a goal keeps in full; older ones are only counted. */
export const KEPT_REFUSALS = 20;

/** The longest text kept from a refused attempt's fields; the rest is cut and marked. */
export const KEPT_TEXT = 200;

/** A field of a refused attempt, cut to {@link KEPT_TEXT} characters so junk payloads cannot bloat the state. */
export function keptText(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : (JSON.stringify(value) ?? typeof value);
  return text.length <= KEPT_TEXT ? text : `${text.slice(0, KEPT_TEXT)}… (${text.length} characters)`;
}

/** Appends to a refusal log, keeping the latest {@link KEPT_REFUSALS}; returns how many were dropped. */
export function keepLatest<T>(log: T[], entry: T): number {
  log.push(entry);
  const drop = Math.max(0, log.length - KEPT_REFUSALS);
  if (drop > 0) log.splice(0, drop);
  return drop;
}
