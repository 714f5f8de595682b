/**
 * The notification activity: tells a channel (today: a webhook) about an approval (opened, reminder, escalated,
 * decided). A webhook gets a JSON POST signed with HMAC-SHA256 over a timestamp, a delivery id and the body, with a
 * key id (src/activities/webhook-signature.ts). The signing key and any secret in the URL are read here, from the
 * worker's secret map, so they never enter the history; messages are scrubbed of them.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { NotificationEvent, WebhookSpec } from '../blueprint/schema.js';
import type { ApprovalRecord } from '../workflows/definitions.js';
import { allowedHostsFor, EgressDenied, guardedFetch } from './egress.js';
import { callerKeys, type SecretResolver } from './secrets.js';
import { referencesIn, renderUrl } from './templates.js';
import { scrubbedFailure } from './tools.js';
import { signDelivery, WebhookHeaders } from './webhook-signature.js';
import { isTransientStatus } from '../http-status.js';

/** The JSON body a webhook receives. */
export interface ApprovalNotification {
  event: NotificationEvent;
  /** When it happened, in the goal's (workflow) time. */
  at: string;
  goal: { id: string; name: string };
  /** The approval: whole on `approval.opened` and `approval.decided`; by reference on reminders and escalations. */
  approval: ApprovalRecord | ApprovalReference;
  /** Who is asked to act now: approvers who have not voted. Empty once decided. */
  to: string[];
  /** For `approval.escalated`: the approvers this step added. */
  escalatedTo?: string[];
  /** For `approval.decided`: approved, rejected, timed_out, or cancelled (with the goal). */
  outcome?: ApprovalRecord['status'];
}

/**
 * An approval by reference: its id and state without the call's arguments, the agent's reason and the log. The
 * `approval.opened` notice with the same `approval.id` carried those; `baton approvals` shows them.
 */
export type ApprovalReference = Omit<ApprovalRecord, 'args' | 'reason' | 'events'> & { byReference: true };

export interface NotificationRequest {
  /** Which entry of the blueprint's `notifications` (0-based, as `notifications[0]`), for messages. */
  index: number;
  webhook: WebhookSpec;
  payload: ApprovalNotification;
}

export interface NotificationReceipt {
  status: number;
  delivery: string;
}

/** Failure types of a notification; the workflow records them on the approval instead of failing. */
export const NotificationError = {
  Failed: 'NotificationFailed',
  Rejected: 'NotificationRejected',
} as const;

/** Sends one notification on one channel. */
export type Notifier = (req: NotificationRequest, resolver: SecretResolver) => Promise<NotificationReceipt>;

async function sendWebhook(req: NotificationRequest, resolver: SecretResolver): Promise<NotificationReceipt> {
  const owner = `notifications[${req.index}] (webhook)`;
  const keys = callerKeys(req.payload.goal.name, 'webhook');
  // A webhook has no arguments: the secrets its own fields name are the ones it declares.
  const declared = [...referencesIn(req.webhook.url), ...referencesIn(req.webhook.secret)]
    .filter((r) => r.kind === 'secret')
    .map((r) => r.name);
  const secrets = resolver.forCall({ label: owner, keys, declared });
  try {
    const url = renderUrl(req.webhook.url, {}, secrets.resolve, owner);
    const [signing] = referencesIn(req.webhook.secret);
    const key = secrets.resolve('secret', signing!.name);
    const info = Context.current().info;
    // Stable across retries of this activity, so a receiver can drop duplicates.
    const delivery = `${info.workflowExecution?.workflowId ?? 'standalone'}/${info.workflowExecution?.runId ?? '-'}/${info.activityId}`;
    const body = JSON.stringify(req.payload);
    const signal = AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(15_000)]);
    const what = `${owner}: POST ${req.webhook.url}`;
    let status: number;
    try {
      ({ status } = await guardedFetch(
        {
          url,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'baton-notify',
            [WebhookHeaders.event]: req.payload.event,
            ...signDelivery(body, delivery, key),
          },
          body,
          signal,
          maxBytes: 0,
          maxRedirects: 0,
        },
        { allowedHosts: allowedHostsFor(resolver.access.hosts, keys) },
      ));
    } catch (err) {
      throw ApplicationFailure.create({
        type: err instanceof EgressDenied ? NotificationError.Rejected : NotificationError.Failed,
        nonRetryable: err instanceof EgressDenied,
        message: `${what} failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
    if (isTransientStatus(status)) {
      throw ApplicationFailure.create({ type: NotificationError.Failed, message: `${what} answered ${status}` });
    }
    if (status >= 300) {
      throw ApplicationFailure.create({
        type: NotificationError.Rejected,
        nonRetryable: true,
        message: `${what} answered ${status}; check the URL and the receiver's signature check`,
      });
    }
    return { status, delivery };
  } catch (err) {
    throw scrubbedFailure(err, secrets, NotificationError.Failed);
  }
}

/** Builds the `notify` activity; `notifiers` adds or replaces channels (default: webhook). */
export function createNotifyActivity(resolver: SecretResolver, notifiers: Partial<Record<string, Notifier>> = {}) {
  const channels: Partial<Record<string, Notifier>> = { webhook: sendWebhook, ...notifiers };
  return async function notify(req: NotificationRequest): Promise<NotificationReceipt> {
    const send = channels[req.webhook.type];
    if (!send) {
      throw ApplicationFailure.create({
        type: NotificationError.Rejected,
        nonRetryable: true,
        message: `notifications[${req.index}]: this worker has no notifier for ${req.webhook.type}`,
      });
    }
    return send(req, resolver);
  };
}
