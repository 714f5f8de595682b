/**
 * Following a goal as it runs (`baton watch`, `baton start --wait`): each new step of its audit trail is printed
 * once it is settled, a live progress line says what the goal is doing now (on a terminal only: a reply as it
 * streams, a call being retried, who it waits for), and the result ends it. The steps come from the goal's history,
 * polled; the lines are the same records `baton audit` exports.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { shortTime } from '../audit/format.js';
import { text } from '../audit/history.js';
import {
  auditGoal,
  describeStreaming,
  type AuditEntry,
  type AuditRecord,
  type GoalAudit,
  type RunCache,
} from '../audit/index.js';
import { statusColor, type Style } from './output.js';
import { describeRetry, retryingCalls, type RetryingCall } from './retrying.js';

export interface WatchOptions {
  /** JSON Lines: each record as `baton audit --format jsonl` writes it; the seal ends a finished goal. */
  json: boolean;
  /** Where steps go; nothing is printed without it. */
  out?: NodeJS.WritableStream;
  /** Where the progress line goes; only drawn when `progress` is true. */
  err: NodeJS.WritableStream;
  progress: boolean;
  style: Style;
  pollMs?: number;
}

/** How a watched goal ended. */
export interface WatchOutcome {
  status: string;
  finished?: AuditRecord;
  audit: GoalAudit;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** An entry no later event can change: its activity has closed, its update has completed. */
function settled(entry: AuditEntry): boolean {
  if (entry.data.status === 'running') return false;
  if (entry.data.outcome === 'pending') return false;
  return true;
}

function describeNow(audit: GoalAudit, style: Style, startedMs: number, retrying: RetryingCall[]): string {
  const { facts, entries } = audit;
  const status = facts.published.status ?? 'running';
  const steps = entries.filter((e) => e.kind === 'model.call' || e.kind === 'tool.call').length;
  const open = entries.findLast((e) => !settled(e));
  const retry = retrying[0];
  const streaming = open && audit.streaming?.find((s) => s.activityId === open.data.activityId);
  const doing =
    status === 'awaiting_approval' || status === 'awaiting_reply'
      ? `waiting for ${facts.published.approvers?.join(', ') || 'an approver'}`
      : retry
        ? style.red(describeRetry(retry, Date.now(), 120))
        : open
          ? `${open.actor}: ${open.kind === 'model.call' ? (streaming ? describeStreaming(streaming) : 'thinking') : text(open.data.tool, open.kind)}`
          : 'working';
  const secs = Math.max(0, Math.round((Date.now() - startedMs) / 1000));
  const cost = facts.published.costUsd === undefined ? '' : ` · $${facts.published.costUsd.toFixed(4)}`;
  return `${facts.goalId} · ${statusColor(style, status)} · ${doing} · ${steps} steps${cost} · ${secs}s`;
}

/** The line printed for one record. */
export function stepLine(record: AuditRecord | AuditEntry, style: Style): string {
  const time = shortTime(record.at).slice(11, 19);
  const actor = record.actor.startsWith('user:')
    ? style.yellow(record.actor)
    : record.actor.startsWith('agent:')
      ? style.cyan(record.actor)
      : style.dim(record.actor);
  return `${style.dim(time)}  ${actor}  ${record.summary}`;
}

/** Follows a goal until it ends; prints its steps as they settle. */
export async function watchGoal(client: Client, goalId: string, opts: WatchOptions): Promise<WatchOutcome> {
  const cache: RunCache = new Map();
  const pollMs = opts.pollMs ?? 500;
  let printed = 0;
  let line = '';
  let frame = 0;
  let audit = await auditGoal(client, goalId, cache);
  const startedMs = Date.parse(audit.entries[0]?.at ?? '') || Date.now();
  const clear = (): void => {
    if (opts.progress && line) opts.err.write('\r\u001b[2K');
  };
  const draw = (): void => {
    if (!opts.progress || audit.facts.closed) return;
    line = `${opts.style.cyan(SPINNER[frame++ % SPINNER.length] ?? '')} ${describeNow(audit, opts.style, startedMs, retrying)}`;
    opts.err.write(`\r\u001b[2K${line}`);
  };
  let retrying: RetryingCall[] = [];
  const reported = new Map<string, number>();
  const ticker = opts.progress ? setInterval(draw, 120) : undefined;
  try {
    for (;;) {
      const { entries, records, facts } = audit;
      const lines: string[] = [];
      while (printed < entries.length) {
        const entry = entries[printed];
        if (!entry || (!facts.closed && !settled(entry))) break;
        const record = records[printed];
        if (!record) break;
        lines.push(opts.json ? JSON.stringify(record) : stepLine(record, opts.style));
        printed += 1;
      }
      if (facts.closed) {
        const seal = records.at(-1);
        if (opts.json && seal) lines.push(JSON.stringify(seal));
      } else if (entries.some((e) => !settled(e))) {
        // A call that fails is retried by Temporal and stays open: its attempts are only in the goal's description.
        retrying = retryingCalls(audit.description ?? (await client.workflow.getHandle(goalId).describe()));
        for (const r of retrying) {
          if ((reported.get(r.activityId) ?? 0) >= r.attempt) continue;
          reported.set(r.activityId, r.attempt);
          if (!opts.json) lines.push(opts.style.red(`${' '.repeat(8)}  retrying  ${describeRetry(r)}`));
        }
      } else {
        retrying = [];
      }
      if (lines.length && opts.out) {
        clear();
        opts.out?.write(`${lines.join('\n')}\n`);
        draw();
      }
      if (facts.closed) {
        clear();
        const finished = records.findLast((r) => r.kind === 'goal.finished');
        return { status: facts.status, audit, ...(finished ? { finished } : {}) };
      }
      await sleep(pollMs);
      audit = await auditGoal(client, goalId, cache);
    }
  } finally {
    if (ticker) clearInterval(ticker);
    clear();
  }
}
