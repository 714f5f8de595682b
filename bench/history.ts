/**
 * Reading measurements out of Temporal histories: when each model call was scheduled (the step clock, on the
 * server), and each run's size, following continue-as-new from the first run to the last.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';

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
  /** Of which: the inputs of model calls, which carry the transcript. */
  modelInputBytes: number;
  continuedAsNew: boolean;
}

/** Every run of a workflow, first to last. */
export async function runSizes(client: Client, workflowId: string, firstRunId: string): Promise<RunSize[]> {
  const runs: RunSize[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const handle: WorkflowHandle = client.workflow.getHandle(workflowId, runId);
    const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
    const events: HistoryEvent[] = history.events ?? [];
    const modelInputBytes = events
      .filter((e) => scheduled(e, 'callModel'))
      .flatMap((e) => e.activityTaskScheduledEventAttributes?.input?.payloads ?? [])
      .reduce((n, p) => n + (p.data?.length ?? 0), 0);
    const next: string | undefined =
      events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    runs.push({
      runId,
      events: description.historyLength,
      bytes: description.historySize ?? Number.NaN,
      modelInputBytes,
      continuedAsNew: next !== undefined,
    });
    runId = next;
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
