/**
 * Human waits that outlast a run's history. An approval that waits 14 days with a reminder every 15 minutes wakes
 * 1,344 times, and each wake (a timer, a workflow task, a notification activity) adds events: kept in one run, the
 * history passes Temporal's limits while a human is still expected to answer. So a wait whose run's history has grown
 * past {@link WAIT_RUN_EVENTS} events or {@link WAIT_RUN_BYTES} bytes (or that the server suggests should move on)
 * throws {@link WaitMovesOn}; the goal continues as new with the wait's approval or question still pending and where
 * its turn stood (`ResumePoint`, definitions.ts), and the next run takes the same wait up again (it adopts the pending record
 * instead of opening a new one). Pure: workflow code.
 */
import { workflowInfo } from '@temporalio/workflow';

/** Events after which a waiting run moves on: Temporal's own suggestion (4 Ki events), for servers that give none. */
export const WAIT_RUN_EVENTS = 4096;
/** History bytes after which a waiting run moves on: Temporal's own suggestion (4 MiB). */
export const WAIT_RUN_BYTES = 4 * 1024 * 1024;

/** Thrown from a human wait when its run's history is full; the goal catches it and continues as new. */
export class WaitMovesOn extends Error {
  constructor(readonly waitingFor: string) {
    super(`the wait for ${waitingFor} continues in a new run`);
    this.name = 'WaitMovesOn';
  }
}

/**
 * Events a run adds itself before it may move a wait on: a run is never full at its start under Temporal's own
 * thresholds, but a server configured to suggest continue-as-new after a few events could otherwise hand a wait
 * from run to run without end.
 */
export const WAIT_RUN_MIN_EVENTS = 10;

/** True when this run's history (which had `startEvents` events at its first task) is full for a waiting goal. */
export function historyFull(startEvents: number): boolean {
  const info = workflowInfo();
  if (info.historyLength < startEvents + WAIT_RUN_MIN_EVENTS) return false;
  return (
    info.continueAsNewSuggested || info.historyLength >= WAIT_RUN_EVENTS || (info.historySize ?? 0) >= WAIT_RUN_BYTES
  );
}
