/**
 * Outcomes the workflow decides without an activity, recorded as structured facts for the audit: a refused or
 * unusable tool call, an engine tool's outcome, a question or approval opened and settled. Each fact is one memo
 * upsert (`WorkflowPropertiesModified` in history, under {@link FACT_MEMO_KEY}); the audit (src/audit) reads these
 * facts and never the wording the model was told. Goals recorded before the facts existed have none; the audit keeps
 * its older readers for them. Recording is guarded by `changed(Patch.auditFacts)`.
 */
import { upsertMemo } from '@temporalio/workflow';
import type { ApprovalStatus, RefusalRecord } from './definitions.js';
import { changed, Patch } from './patches.js';

/** The memo field every fact is written under; each upsert event carries one fact. */
export const FACT_MEMO_KEY = 'batonFact';

/** What became of a tool call that ran no activity of its own (or whose activity gave no result). */
export type ToolOutcome =
  /** The rules refused it (the agent may not use the tool). */
  | 'refused'
  /** The model got it wrong (unknown tool, bad arguments) and was asked to repair it. */
  | 'invalid'
  /** An approval said no (rejected, timed out): the tool did not run. */
  | 'not_run'
  /** Its activity timed out: it may or may not have taken effect. */
  | 'outcome_unknown'
  /** Its activity failed for good; the model was told the error. */
  | 'failed'
  /** An engine tool, handled in the workflow. */
  | 'handled';

/** One fact, as the audit reads it. `fact` names the kind; further fields may be added, never renamed. */
export type AuditFact =
  | {
      fact: 'tool';
      callId: string;
      tool: string;
      agent: string;
      outcome: ToolOutcome;
      /** Why, for a refusal: the goal record's refusal kind. */
      refusal?: RefusalRecord['kind'];
      /** One line saying what happened (for an engine tool, as its registry value words it). */
      summary: string;
      approvalId?: string;
      /** Structured details an engine tool gives (e.g. `{ verdict: 'accepted' }`). */
      detail?: Record<string, unknown>;
    }
  | {
      fact: 'approval.opened';
      approvalId: string;
      tool: string;
      /** The tool call it is for; absent for a budget extension. */
      callId?: string;
      agent: string;
      eligible: string[];
      quorum: number;
      deadline?: string;
    }
  | { fact: 'approval.settled'; approvalId: string; status: ApprovalStatus }
  | {
      fact: 'question.asked';
      questionId: string;
      callId?: string;
      /** `refusal` when the engine asked about the agent's model's refusal (onRefusal: ask), not the agent. */
      about?: 'refusal';
      agent: string;
      question: string;
      eligible: string[];
      deadline?: string;
    }
  | {
      fact: 'question.settled';
      questionId: string;
      status: 'answered' | 'timed_out';
      by?: string;
      via?: 'signal' | 'update';
      answer?: string;
    }
  | DecisionFact
  | StarterFact;

/** Who started the goal, as the workflow verified it at the start of its first run (goals with verified identity). */
export interface StarterFact {
  fact: 'starter';
  /** The verified subject, or the name the start claimed. */
  subject: string;
  verified: boolean;
  issuer?: string;
  keyId?: string;
  assertionId?: string;
  /** Why the start is unverified (an ad hoc start the operator allowed). */
  reason?: string;
  /** The registered blueprint (`name@version`) or `ad hoc`. */
  blueprint?: string;
}

/**
 * How the workflow judged one human act (a vote, an answer) on a goal with verified identity: accepted with the
 * identity its assertion proved, or refused with the reason. Recorded for signals and accepted updates alike (an
 * update its validator refused never reaches history), so the audit reports the workflow's verdict, not its own.
 */
export interface DecisionFact {
  fact: 'decision';
  on: 'approval' | 'question';
  targetId: string;
  via: 'signal' | 'update';
  outcome: 'accepted' | 'refused';
  /** The name the act gave: a claim, cut short. */
  claimed: string;
  reason?: string;
  code?: string;
  /** Who signed it, as verified against the operator's trust (accepted acts only). */
  verified?: { subject: string; issuer: string; keyId: string; assertionId: string; groups: string[] };
}

/** The kinds of fact, for readers. */
export type AuditFactKind = AuditFact['fact'];

/** Records one fact in history (goals started before the facts existed record none, so they replay as they ran). */
export function recordFact(fact: AuditFact): void {
  if (!changed(Patch.auditFacts)) return;
  upsertMemo({ [FACT_MEMO_KEY]: fact });
}

/** A fact read back from a memo upsert, or undefined when the value is not one. */
export function asFact(value: unknown): AuditFact | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const kind = (value as { fact?: unknown }).fact;
  return typeof kind === 'string' ? (value as AuditFact) : undefined;
}
