/**
 * The CLI's shared words: help examples, the `--json` switch, and how approvals and votes read. Every command file
 * under commands/ writes through these, so one wording holds everywhere.
 */
import { Option } from 'commander';
import type { ApprovalRecord, Vote } from '../workflows/definitions.js';
import { until } from './output.js';

/** The goal id the help examples use; `test/cli-help.test.ts` runs every example with a real id in its place. */
export const EXAMPLE_ID = 'refund-request-1a2b3c4d';
/** The goal id of the `reply` example: a goal whose agent waits on a person's answer. */
export const QUESTION_EXAMPLE_ID = 'security-alert-1a2b3c4d';

/** The `Example(s):` block of a command's help. */
export function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}

/** Options every command takes. */
export interface JsonFlag {
  json?: boolean;
}

/** The `--json` option (a new instance per command: commander owns the options it is given). */
export function jsonOption(description = 'machine-readable output'): Option {
  return new Option('--json', description);
}

/** Writes a command's result: JSON with `--json`, else the text for people. */
export function out(opts: JsonFlag, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/** A decision in the past tense: approved, rejected. */
export function decided(decision: 'approve' | 'reject'): string {
  return decision === 'approve' ? 'approved' : 'rejected';
}

function vote(v: Vote): string {
  return `${v.by} ${decided(v.decision)}${v.comment ? ` ("${v.comment}")` : ''}`;
}

/** One line about an approval: its id and state, the call, who asked, who may decide, and the votes so far. */
export function describeApproval(a: ApprovalRecord): string {
  const votes = a.votes.map(vote).join(', ');
  const quorum = a.quorum > 1 ? ` · quorum ${a.quorum}` : '';
  const deadline = a.status === 'pending' && a.deadline ? ` · deadline ${until(a.deadline)}` : '';
  return `${a.id} ${a.status} · ${a.tool} ${JSON.stringify(a.args)} · asked by agent ${a.requestedBy} · approvers ${a.eligible.join(', ')}${quorum}${deadline}${votes ? ` · ${votes}` : ''}`;
}

/**
 * What a person's vote did, decider first: `alice approved apr-1: issue_refund {...} is approved`, or, when more
 * votes are needed, `... 1 of 2 approvals, still waiting on bob`.
 */
export function describeVote(decider: string, decision: 'approve' | 'reject', a: ApprovalRecord): string {
  const call = `${a.tool} ${JSON.stringify(a.args)}`;
  if (a.status !== 'pending') return `${decider} ${decided(decision)} ${a.id}: ${call} is ${a.status}`;
  const approvals = a.votes.filter((v) => v.decision === 'approve').length;
  const others = a.eligible.filter((u) => !a.votes.some((v) => v.by === u));
  return `${decider} ${decided(decision)} ${a.id}: ${call} has ${approvals} of ${a.quorum} approvals, still waiting on ${others.join(', ') || 'another approver'}`;
}

/** What happened while an approval waited, one line per kind: reminders, escalations, timeout, failed notices. */
export function approvalHistory(a: ApprovalRecord): string[] {
  const lines: string[] = [];
  const reminders = a.events.filter((e) => e.kind === 'reminder');
  if (reminders.length) lines.push(`reminded ${reminders.length}×, last at ${reminders.at(-1)!.at}`);
  for (const e of a.events) {
    if (e.kind === 'escalation') lines.push(`escalated to ${e.to?.join(', ') ?? '?'} at ${e.at}`);
    if (e.kind === 'timeout') lines.push(`timed out at ${e.at}: ${e.detail ?? ''}`);
    if (e.kind === 'notification_failed') lines.push(`notification failed at ${e.at}: ${e.detail ?? ''}`);
  }
  return lines;
}
