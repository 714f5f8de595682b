/**
 * Webhook notifications about approvals: each runs as a `notify` activity beside the approval, never in its way.
 * A failure after all retries is recorded on the approval and nothing else happens; notifications survive the
 * goal's cancellation, so the last word about an approval still goes out.
 */
import {
  ActivityFailure,
  CancellationScope,
  condition,
  proxyActivities,
  TimeoutFailure,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities, ApprovalNotification, ApprovalReference } from '../activities/index.js';
import type { Blueprint, NotificationEvent } from '../blueprint/schema.js';
import { NotificationError } from '../failures.js';
import { waitingOn } from './approvals.js';
import type { ApprovalRecord } from './definitions.js';

/**
 * Retry profile of notifications: a webhook that is down is retried for up to ten minutes, then the failure is
 * recorded on the approval. A receiver that refuses the request (4xx) is not retried.
 */
const notification = {
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10m',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    nonRetryableErrorTypes: [NotificationError.Rejected, NotificationError.MissingSecret],
  },
} as const satisfies ActivityOptions;

const { notify } = proxyActivities<Activities>(notification);

/** Why a notification failed for good: the last attempt's error, and whether its retry time ran out. */
function failureText(err: unknown): string {
  const ranOut = err instanceof ActivityFailure && err.retryState === 'TIMEOUT';
  let e: unknown = err;
  // An ActivityFailure's own message is generic; its causes say what went wrong.
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const text = e instanceof Error ? e.message : String(e);
  return ranOut && !(e instanceof TimeoutFailure) ? `${text} (gave up when its retry time ran out)` : text;
}

/** An approval by reference: what a reminder or an escalation needs to say, without the call's content or log. */
export function approvalReference(record: ApprovalRecord): ApprovalReference {
  const copy = JSON.parse(JSON.stringify(record)) as Partial<ApprovalRecord>;
  delete copy.args;
  delete copy.reason;
  delete copy.events;
  return { ...(copy as Omit<ApprovalRecord, 'args' | 'reason' | 'events'>), byReference: true };
}

/** Sends one goal's approval notifications and knows how many are still on their way. */
export class ApprovalNotifier {
  private inflight = 0;

  constructor(private readonly bp: Blueprint) {}

  /**
   * Sends a notification to every webhook that wants the event. `byReference`: the approval goes by its id and
   * state, without its arguments, reason and log (the `approval.opened` notice of the same id carried them), so a
   * long wait's reminders stay small however large the call they are about.
   */
  send(
    event: NotificationEvent,
    record: ApprovalRecord,
    extra: Pick<ApprovalNotification, 'escalatedTo' | 'outcome'> = {},
    byReference = false,
  ): void {
    const hooks = this.bp.notifications ?? [];
    hooks.forEach((webhook, i) => {
      if (!webhook.events.includes(event)) return;
      const payload: ApprovalNotification = {
        event,
        at: new Date(Date.now()).toISOString(),
        goal: { id: workflowInfo().workflowId, name: this.bp.name },
        approval: byReference ? approvalReference(record) : (JSON.parse(JSON.stringify(record)) as ApprovalRecord),
        to: waitingOn(record),
        ...extra,
      };
      this.inflight += 1;
      void CancellationScope.nonCancellable(() =>
        notify.executeWithOptions({ ...notification, summary: `notify ${event} ${record.id} → notifications[${i}]` }, [
          { index: i, webhook, payload },
        ]),
      )
        .catch((err: unknown) => {
          record.events.push({
            kind: 'notification_failed',
            at: new Date(Date.now()).toISOString(),
            detail: `${event}: ${failureText(err)}`,
          });
        })
        .finally(() => {
          this.inflight -= 1;
        });
    });
  }

  /** Notifications sent that are neither delivered nor failed for good. */
  get inflightCount(): number {
    return this.inflight;
  }

  /** Resolves once every notification sent so far has been delivered or has failed for good. */
  async drain(): Promise<void> {
    await CancellationScope.nonCancellable(() => condition(() => this.inflight === 0));
  }
}
