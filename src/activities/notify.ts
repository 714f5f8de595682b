/**
 * The notification activity: tells a webhook about an approval (opened, reminder, escalated, decided) with a JSON
 * POST whose body is signed with HMAC-SHA256. The signing key is a `${secret:NAME}` reference resolved here, from the
 * worker's environment, so it never enters the workflow's history.
 */
import { createHmac } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { NotificationEvent, WebhookSpec } from '../blueprint/schema.js';
import type { ApprovalRecord } from '../workflows/definitions.js';
import { resolveReferences, type Env } from './references.js';

/** The JSON body a webhook receives. */
export interface ApprovalNotification {
  event: NotificationEvent;
  /** When it happened, in the goal's (workflow) time. */
  at: string;
  goal: { id: string; name: string };
  approval: ApprovalRecord;
  /** Who is asked to act now: approvers who have not voted. Empty once decided. */
  to: string[];
  /** For `approval.escalated`: the approvers this step added. */
  escalatedTo?: string[];
  /** For `approval.decided`: approved, rejected, timed_out, or cancelled (with the goal). */
  outcome?: ApprovalRecord['status'];
}

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

/** The signature header value for a body: `sha256=` and the hex HMAC-SHA256 of the exact bytes sent. */
export function signBody(body: string, key: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

/** Builds the `notify` activity. */
export function createNotifyActivity(env: Env) {
  return async function notify(req: NotificationRequest): Promise<NotificationReceipt> {
    const owner = `notifications[${req.index}] (webhook)`;
    const url = resolveReferences(req.webhook.url, env, 'webhook', owner);
    const key = resolveReferences(req.webhook.secret, env, 'webhook', owner);
    const info = Context.current().info;
    // Stable across retries of this activity, so a receiver can drop duplicates.
    const delivery = `${info.workflowExecution?.workflowId ?? 'standalone'}/${info.workflowExecution?.runId ?? '-'}/${info.activityId}`;
    const body = JSON.stringify(req.payload);
    const signal = AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(15_000)]);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'baton-notify',
          'x-baton-event': req.payload.event,
          'x-baton-delivery': delivery,
          'x-baton-signature': signBody(body, key),
        },
        body,
        signal,
        redirect: 'manual',
      });
      await res.body?.cancel();
    } catch (err) {
      // Never echo the resolved URL: it may carry a secret. The template is safe to show.
      throw ApplicationFailure.create({
        type: NotificationError.Failed,
        message: `${owner}: POST ${req.webhook.url} failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      throw ApplicationFailure.create({
        type: NotificationError.Failed,
        message: `${owner}: POST ${req.webhook.url} answered ${res.status}`,
      });
    }
    if (res.status >= 300) {
      throw ApplicationFailure.create({
        type: NotificationError.Rejected,
        nonRetryable: true,
        message: `${owner}: POST ${req.webhook.url} answered ${res.status}; check the URL and the receiver's signature check`,
      });
    }
    return { status: res.status, delivery };
  };
}
