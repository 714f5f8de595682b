/** Reading real workflow histories in tests: every run of a goal, and the activities it scheduled with their input. */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** One run of a workflow: its id, its events, and its history size in bytes as the server counts it. */
export interface Run {
  runId: string;
  events: HistoryEvent[];
  bytes: number;
}

/** Every run of a goal, first to last, following continue-as-new. */
export async function runsOf(client: Client, workflowId: string): Promise<Run[]> {
  const first = await client.workflow.getHandle(workflowId).describe();
  const firstRunId = first.raw.workflowExecutionInfo?.firstRunId ?? first.runId;
  const runs: Run[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const handle: WorkflowHandle = client.workflow.getHandle(workflowId, runId);
    const history = await handle.fetchHistory();
    const events: HistoryEvent[] = history.events ?? [];
    const described = await handle.describe();
    runs.push({ runId, events, bytes: Number(described.raw.workflowExecutionInfo?.historySizeBytes ?? -1) });
    const last: HistoryEvent | undefined = events.at(-1);
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

/** The events of a workflow's latest run. */
export async function eventsOf(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return history.events ?? [];
}

/** An activity the workflow scheduled: its type, id and decoded argument. */
export interface ScheduledActivity {
  type: string;
  activityId: string;
  input: Record<string, unknown>;
}

/** Activities scheduled in these events, in order, with their first argument decoded. */
export function scheduledActivities(events: HistoryEvent[], opts: { withTrust?: boolean } = {}): ScheduledActivity[] {
  return events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) return [];
    // The operator's trust, recorded at the start and before each signed decision (src/workflows/identity-gate.ts),
    // is not the goal's own work; test/goal-approval.test.ts checks where it is loaded.
    if (a.activityType?.name === 'loadTrust' && !opts.withTrust) return [];
    const payload = a.input?.payloads?.[0];
    return [
      {
        type: a.activityType?.name ?? '?',
        activityId: a.activityId ?? '?',
        input: payload ? defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload) : {},
      },
    ];
  });
}

/** The messages each model call was sent, in order: what the model saw, as recorded in the history. */
export function modelRequests(
  events: HistoryEvent[],
): { agent: string; messages: { role: string; content: string | null }[]; tools: string[] }[] {
  return scheduledActivities(events)
    .filter((a) => a.type === 'callModel')
    .map((a) => ({
      agent: String(a.input.agent),
      messages: a.input.messages as { role: string; content: string | null }[],
      tools: (a.input.tools as { name: string }[]).map((t) => t.name),
    }));
}

/** Child workflows this history started, by workflow id. */
export function childrenStarted(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    return id ? [id] : [];
  });
}

/** Names of the signals and updates this history received. */
export function messagesReceived(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const signal = e.workflowExecutionSignaledEventAttributes?.signalName;
    const update = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
    return signal ? [`signal:${signal}`] : update ? [`update:${update}`] : [];
  });
}
