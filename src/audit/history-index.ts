/**
 * The audit's first pass over a goal's history: every event of every run in its place, each activity with its
 * start and close, `decide`/`reply` update completions, timers started, the structured facts the workflow recorded,
 * and the workflow's clock at any event. The trail's readers look things up here instead of searching the history.
 */
import { asFact, FACT_MEMO_KEY, type AuditFact, type DecisionFact, type StarterFact } from '../workflows/facts.js';
import { keptText } from '../identity/authorize.js';
import type { Located } from './entry.js';
import { firstPayload, int, text, type RunHistory } from './history.js';

/** One activity: where it was scheduled, started and closed, and what it was asked. */
export interface ActivityInfo {
  scheduled: Located;
  started?: Located;
  closed?: Located;
  type: string;
  activityId: string;
  input: unknown;
}

/** A structured fact the workflow recorded, where, and whether the trail has read it. */
export interface FactAt {
  loc: Located;
  fact: AuditFact;
  used: boolean;
}

/** The indexed history of a goal across its continue-as-new runs. */
export class HistoryIndex {
  /** Every event of every run, in order. */
  readonly all: Located[] = [];
  /** Activities by `run:scheduledEventId`. */
  readonly activities = new Map<string, ActivityInfo>();
  /** The model calls, in order. */
  readonly models: ActivityInfo[] = [];
  /** Update completions, by `run:acceptedEventId` and by `run:update:updateId`. */
  readonly updateOutcomes = new Map<string, Located>();
  /** Timers started, by `run:timerId`. */
  readonly timersStarted = new Map<string, Located>();
  /** The structured facts the workflow recorded, in history order; none in histories from before them. */
  readonly facts: FactAt[] = [];

  constructor(runs: RunHistory[]) {
    runs.forEach((r, i) => {
      for (const ev of r.events) this.all.push({ run: i + 1, runId: r.runId, ev, pos: this.all.length });
    });
    for (const loc of this.all) this.add(loc);
  }

  /** The activity scheduled by event `scheduledEventId` of `loc`'s run. */
  activity(loc: Pick<Located, 'run'>, scheduledEventId: number): ActivityInfo | undefined {
    return this.activities.get(`${loc.run}:${scheduledEventId}`);
  }

  /** The completion of the update accepted at `loc` (found by the accepted event's id or by the update id). */
  updateOutcome(loc: Located, updateId: string | undefined): Located | undefined {
    return (
      this.updateOutcomes.get(`${loc.run}:${loc.ev.id}`) ??
      this.updateOutcomes.get(`${loc.run}:update:${updateId ?? ''}`)
    );
  }

  /** Where the timer `timerId` of `loc`'s run was started. */
  timerStarted(loc: Pick<Located, 'run'>, timerId: unknown): Located | undefined {
    return this.timersStarted.get(`${loc.run}:${String(timerId)}`);
  }

  /**
   * The workflow's clock (what `Date.now()` returned in workflow code) in the workflow task that completed after
   * `loc` (`handled`: the task that saw the event) or before it (`issued`: the task whose command it is): the start
   * of that task, the last one started before it completed (earlier attempts failed or timed out).
   */
  workflowClock(loc: Located, which: 'handled' | 'issued'): number {
    const history = this.all;
    const step = which === 'handled' ? 1 : -1;
    const inRun = (i: number): boolean => i >= 0 && i < history.length && history[i]!.run === loc.run;
    let completed = loc.pos + step;
    while (inRun(completed) && history[completed]!.ev.type !== 'WorkflowTaskCompleted') completed += step;
    for (let i = completed - 1; inRun(completed) && inRun(i); i--) {
      if (history[i]!.ev.type === 'WorkflowTaskStarted') return Date.parse(history[i]!.ev.time);
    }
    return Date.parse(loc.ev.time);
  }

  private add(loc: Located): void {
    const a = loc.ev.attrs;
    switch (loc.ev.type) {
      case 'ActivityTaskScheduled': {
        const info: ActivityInfo = {
          scheduled: loc,
          type: String((a.activityType as { name?: string } | undefined)?.name ?? '?'),
          activityId: text(a.activityId),
          input: firstPayload(a.input),
        };
        this.activities.set(`${loc.run}:${loc.ev.id}`, info);
        if (info.type === 'callModel') this.models.push(info);
        break;
      }
      case 'ActivityTaskStarted': {
        const info = this.activity(loc, int(a.scheduledEventId));
        if (info) info.started = loc;
        break;
      }
      case 'ActivityTaskCompleted':
      case 'ActivityTaskFailed':
      case 'ActivityTaskTimedOut':
      case 'ActivityTaskCanceled': {
        const info = this.activity(loc, int(a.scheduledEventId));
        if (info) info.closed = loc;
        break;
      }
      case 'WorkflowExecutionUpdateCompleted': {
        // Servers differ in which link they fill: the accepted event's id, or the update id.
        const updateId = (a.meta as { updateId?: string } | undefined)?.updateId;
        if (int(a.acceptedEventId) > 0) this.updateOutcomes.set(`${loc.run}:${int(a.acceptedEventId)}`, loc);
        if (updateId) this.updateOutcomes.set(`${loc.run}:update:${updateId}`, loc);
        break;
      }
      case 'TimerStarted':
        this.timersStarted.set(`${loc.run}:${String(a.timerId)}`, loc);
        break;
      case 'WorkflowPropertiesModified': {
        const fields = (a.upsertedMemo as { fields?: Record<string, unknown> } | undefined)?.fields;
        const fact = fields?.[FACT_MEMO_KEY] ? asFact(firstPayload({ payloads: [fields[FACT_MEMO_KEY]] })) : undefined;
        if (fact) this.facts.push({ loc, fact, used: false });
        break;
      }
      default:
        break;
    }
  }

  /**
   * The workflow's verdict on the human act at `loc` (goals with verified identity): its handler runs after the
   * event is recorded, so the verdict is the first unread `decision` fact after it for the same target and transport.
   */
  verdictFor(
    loc: Located,
    on: DecisionFact['on'],
    targetId: unknown,
    via: DecisionFact['via'],
  ): DecisionFact | undefined {
    const target = keptText(String(targetId));
    const at = this.facts.find(
      (f) =>
        !f.used &&
        f.loc.pos > loc.pos &&
        f.fact.fact === 'decision' &&
        f.fact.on === on &&
        f.fact.via === via &&
        f.fact.targetId === target,
    );
    if (!at) return undefined;
    at.used = true;
    return at.fact as DecisionFact;
  }

  /** Who started the goal, as its first run recorded it (goals with verified identity). */
  starter(): StarterFact | undefined {
    return this.facts.find((f) => f.loc.run === 1 && f.fact.fact === 'starter')?.fact as StarterFact | undefined;
  }
}
