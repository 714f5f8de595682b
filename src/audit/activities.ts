/**
 * Activities in the audit trail: what history records of each (status, attempts, timing, failure), the record of a
 * model call (who asked which model, what it chose, tokens and cost), and the record of any other activity. Tool
 * activities are read with their tool calls (tool-calls.ts).
 */
import type { ModelReply, ModelRequest } from '../activities/index.js';
import { costOfReply } from '../activities/model/pricing.js';
import { AuditKind, clipLine, failureInfo, type Emit, type FailureInfo, type Located } from './entry.js';
import { firstPayload, int, msBetween } from './history.js';
import type { ActivityInfo } from './history-index.js';
import { modelTokens, tokensText } from './usage.js';

/** An activity as history records it: the record's data, the events it draws on, and its status. */
export interface ActivityFacts {
  data: Record<string, unknown>;
  events: number[];
  status: string;
}

/** A tool call's arguments as the model wrote them: JSON when they parse, else the text itself. */
export function parseArguments(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function usd(value: number): string {
  return `$${value.toFixed(6).replace(/0{1,4}$/, '')}`;
}

/** The value an activity returned, when it completed. */
export function activityResult(info: ActivityInfo): unknown {
  if (info.local) return info.local.result;
  return info.closed?.ev.type === 'ActivityTaskCompleted' ? firstPayload(info.closed.ev.attrs.result) : undefined;
}

/** What a local activity's marker records: the same fields, with no start of its own (it ran in a workflow task). */
function localActivityFacts(info: ActivityInfo, local: NonNullable<ActivityInfo['local']>): ActivityFacts {
  const failure = failureInfo(local.failure);
  const data: Record<string, unknown> = {
    activityId: info.activityId,
    activityType: info.type,
    status: local.failure ? 'failed' : 'completed',
    attempts: local.attempts,
    scheduledAt: local.scheduledAt,
    startedAt: null,
    closedAt: local.completedAt,
    durationMs: null,
    totalMs: msBetween(local.scheduledAt, local.completedAt),
    ranLocally: true,
    ...(failure ? { failure } : {}),
  };
  return { data, events: [info.scheduled.ev.id], status: data.status as string };
}

/** What history records of an activity: status, attempts, when it was scheduled, started and closed, and failures. */
export function activityFacts(info: ActivityInfo): ActivityFacts {
  if (info.local) return localActivityFacts(info, info.local);
  const closed = info.closed?.ev;
  const status = !closed
    ? 'running'
    : ({
        ActivityTaskCompleted: 'completed',
        ActivityTaskFailed: 'failed',
        ActivityTaskTimedOut: 'timed_out',
        ActivityTaskCanceled: 'cancelled',
      }[closed.type] ?? 'unknown');
  const started = info.started?.ev;
  const attempts = started ? int(started.attrs.attempt) : undefined;
  const lastFailure = started ? failureInfo(started.attrs.lastFailure) : undefined;
  const failure = closed ? failureInfo(closed.attrs.failure) : undefined;
  const data: Record<string, unknown> = {
    activityId: info.activityId,
    activityType: info.type,
    status,
    attempts: attempts ?? null,
    scheduledAt: info.scheduled.ev.time,
    startedAt: started?.time ?? null,
    closedAt: closed?.time ?? null,
    durationMs: started && closed ? msBetween(started.time, closed.time) : null,
    totalMs: closed ? msBetween(info.scheduled.ev.time, closed.time) : null,
    ...(lastFailure ? { lastFailure } : {}),
    ...(failure ? { failure } : {}),
  };
  const events = [info.scheduled.ev.id, ...(started ? [started.id] : []), ...(closed ? [closed.id] : [])];
  return { data, events, status };
}

/** The record of an activity that is neither a model call nor a tool call. */
export function emitActivity(emit: Emit, loc: Located, info: ActivityInfo): void {
  const { data, events, status } = activityFacts(info);
  const result = activityResult(info);
  emit(
    loc,
    AuditKind.Activity,
    'baton',
    `${loc.ev.summary ?? info.type} → ${status}`,
    { ...data, summary: loc.ev.summary ?? null, input: info.input ?? null, result: result ?? null },
    events,
  );
}

/**
 * The record of a model call: the agent, the model, what it chose, tokens (estimated or reported; cached, reasoning)
 * and cost at the call's price (as the activity priced it, cached input at its own rate).
 */
export function emitModelCall(emit: Emit, loc: Located, info: ActivityInfo): void {
  const req = info.input as ModelRequest | undefined;
  const { data, events, status } = activityFacts(info);
  const reply = activityResult(info) as ModelReply | undefined;
  const tokens = reply ? modelTokens(reply.usage) : null;
  const cost = reply ? costOfReply(reply.usage, req?.settings?.price) : null;
  const calls = reply?.toolCalls ?? [];
  const agent = req?.agent ?? '?';
  const what = !reply
    ? status === 'running'
      ? 'waiting for the model'
      : `failed: ${String((data.failure as FailureInfo | undefined)?.message ?? status)}`
    : calls.length
      ? `chose ${calls.map((c) => c.name).join(', ')}`
      : 'answered';
  emit(
    loc,
    AuditKind.ModelCall,
    `agent:${agent}`,
    `${agent} → ${req?.settings?.model ?? '?'}: ${what}${tokens ? ` · ${tokensText(tokens)} · ${usd(cost ?? 0)}` : ''}${reply?.content ? ` · "${clipLine(reply.content, 70)}"` : ''}`,
    {
      agent,
      model: req?.settings?.model ?? null,
      servedBy: reply?.model ?? null,
      tokens,
      costUsd: cost,
      toolCalls: calls.map((c) => ({ id: c.id, name: c.name, arguments: parseArguments(c.arguments) })),
      reason: reply?.content ?? null,
      finishReason: reply?.finishReason ?? null,
      messages: req?.messages?.length ?? null,
      ...data,
    },
    events,
  );
}
