/**
 * Reading measurements out of Temporal histories: when each model call was scheduled (the step clock, on the
 * server), and each run's size, following continue-as-new from the first run to the last.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';

const { Payload: PayloadProto } = proto.temporal.api.common.v1;

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/** An event's time in epoch milliseconds, sub-millisecond precise. */
export function eventMs(event: HistoryEvent): number {
  const t = event.eventTime;
  if (!t) return Number.NaN;
  const seconds = typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0);
  return seconds * 1000 + (t.nanos ?? 0) / 1e6;
}

function scheduled(event: HistoryEvent, activity: string): boolean {
  return event.activityTaskScheduledEventAttributes?.activityType?.name === activity;
}

/** When each `callModel` activity was scheduled: step k runs from model call k to model call k+1. */
export function modelCallTimes(history: History): number[] {
  return (history.events ?? []).filter((e) => scheduled(e, 'callModel')).map(eventMs);
}

/** The time of the run's first event (the workflow started). */
export function startTime(history: History): number {
  const first = history.events?.[0];
  return first ? eventMs(first) : Number.NaN;
}

/** One run of a goal: its size as the server counts it, against the limits it warns at. */
export interface RunSize {
  runId: string;
  events: number;
  bytes: number;
  /** Of which: copies of the transcript, in model-call inputs and in the run's input and continue-as-new input. */
  transcriptBytes: number;
  /** UpsertWorkflowSearchAttributes events. */
  upserts: number;
  /** Encoded size of each callModel input, and of the largest payload of the run. */
  modelInputs: number[];
  largestPayload: number;
  continuedAsNew: boolean;
}

/** Pages small enough for the client's 4 MB message limit when model inputs carry a long transcript. */
const PAGE_SIZE = 20;

/** Reads one run's history page by page, keeping only what the size figures need. */
async function scanRun(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<{
  transcriptBytes: number;
  upserts: number;
  modelInputs: number[];
  largestPayload: number;
  next: string | undefined;
}> {
  let transcriptBytes = 0;
  let upserts = 0;
  const modelInputs: number[] = [];
  let largestPayload = 0;
  let last: HistoryEvent | undefined;
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: PAGE_SIZE,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const e of page.history?.events ?? []) {
      const carriers = [
        scheduled(e, 'callModel') ? e.activityTaskScheduledEventAttributes?.input : undefined,
        e.workflowExecutionStartedEventAttributes?.input,
        e.workflowExecutionContinuedAsNewEventAttributes?.input,
      ];
      for (const payloads of carriers) {
        for (const p of payloads?.payloads ?? []) transcriptBytes += p.data?.length ?? 0;
      }
      const modelInput = scheduled(e, 'callModel')
        ? e.activityTaskScheduledEventAttributes?.input?.payloads?.[0]
        : undefined;
      if (modelInput) modelInputs.push(PayloadProto.encode(modelInput).finish().length);
      for (const p of [
        ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
        ...(e.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
        ...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
        ...(e.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads ?? []),
      ]) {
        largestPayload = Math.max(largestPayload, PayloadProto.encode(p).finish().length);
      }
      if (e.upsertWorkflowSearchAttributesEventAttributes) upserts += 1;
      last = e;
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return {
    transcriptBytes,
    upserts,
    modelInputs,
    largestPayload,
    next: last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined,
  };
}

/** Every run of a workflow, first to last. */
export async function runSizes(client: Client, workflowId: string, firstRunId: string): Promise<RunSize[]> {
  const runs: RunSize[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const handle: WorkflowHandle = client.workflow.getHandle(workflowId, runId);
    const description = await handle.describe();
    const scan: Awaited<ReturnType<typeof scanRun>> = await scanRun(client, workflowId, runId);
    runs.push({
      runId,
      events: description.historyLength,
      bytes: description.historySize ?? Number.NaN,
      transcriptBytes: scan.transcriptBytes,
      upserts: scan.upserts,
      modelInputs: scan.modelInputs,
      largestPayload: scan.largestPayload,
      continuedAsNew: scan.next !== undefined,
    });
    runId = scan.next;
  }
  return runs;
}

/** When the goal first published `BatonStatus = awaiting_approval`: the moment it parked. */
export function parkedTime(history: History): number {
  const event = (history.events ?? []).find((e) => {
    const data = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.BatonStatus?.data;
    return data !== undefined && data !== null && Buffer.from(data).toString('utf8') === '"awaiting_approval"';
  });
  return event ? eventMs(event) : Number.NaN;
}

/** How long the worker held each workflow task (started → completed, server time), in history order. */
export function workflowTaskTimes(history: History): number[] {
  const times: number[] = [];
  let started: number | undefined;
  for (const e of history.events ?? []) {
    if (e.workflowTaskStartedEventAttributes) started = eventMs(e);
    else if (e.workflowTaskCompletedEventAttributes && started !== undefined) {
      times.push(eventMs(e) - started);
      started = undefined;
    }
  }
  return times;
}

/** Where start → first model call went (milliseconds, server time). */
export interface FirstCallSpans {
  /** Started → the worker starts the goal's first workflow task (the task's dispatch to a poller). */
  toTask: number;
  /** The worker holds that task. */
  task: number;
  /** That task completed → the model call scheduled: zero when the first task schedules it, more when later ones do. */
  toCall: number;
}

/** Splits a goal's start → first model call into its spans; undefined when the history has no model call. */
export function firstCallSpans(history: History): FirstCallSpans | undefined {
  const events = history.events ?? [];
  const started = events.find((e) => e.workflowTaskStartedEventAttributes);
  const completed = events.find((e) => e.workflowTaskCompletedEventAttributes);
  const call = events.find((e) => scheduled(e, 'callModel'));
  if (!started || !completed || !call) return undefined;
  return {
    toTask: eventMs(started) - startTime(history),
    task: eventMs(completed) - eventMs(started),
    toCall: eventMs(call) - eventMs(completed),
  };
}

/** Where approve → resume went, from the decision sent to the approved tool's call arriving (milliseconds). */
export interface ResumeSpans {
  /** Decision sent → the worker starts the workflow task that takes it (the update's round trip into the worker). */
  toTask: number;
  /** The worker holds that task: validator, handler, and the goal loop up to scheduling the tool. */
  task: number;
  /** Tool activity scheduled → started: the server hands it to an activity poller (zero when dispatched eagerly). */
  dispatch: number;
  /** Activity started → its HTTP call arrives at the tool server. */
  activity: number;
  /** Activities run between the decision and the tool (a `loadTrust` when the goal's trust was stale). */
  extraActivities: number;
}

/** Splits one goal's approve → resume into its spans, from its history and the driver's two wall-clock times. */
export function resumeSpans(history: History, sentAt: number, arrivedAt: number): ResumeSpans | undefined {
  const events = history.events ?? [];
  const accepted = events.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
  if (!accepted) return undefined;
  const at = events.indexOf(accepted);
  // The accepted event follows the completion of the task that took the update.
  const completed = events.slice(0, at).findLast((e) => e.workflowTaskCompletedEventAttributes);
  const started = events.slice(0, at).findLast((e) => e.workflowTaskStartedEventAttributes);
  const later = events.slice(at);
  const tool = later.find((e) => scheduled(e, 'runTool'));
  const toolStarted =
    tool &&
    later.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(tool.eventId));
  if (!completed || !started || !tool || !toolStarted) return undefined;
  const extraActivities = later
    .slice(0, later.indexOf(tool))
    .filter((e) => e.activityTaskScheduledEventAttributes).length;
  return {
    toTask: eventMs(started) - sentAt,
    task: eventMs(completed) - eventMs(started),
    dispatch: eventMs(toolStarted) - eventMs(tool),
    activity: arrivedAt - eventMs(toolStarted),
    extraActivities,
  };
}
