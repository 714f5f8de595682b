/**
 * What the engine's tools see of a running goal: its record and the few operations they may use. The goal loop
 * (goal.ts) implements it; the tools (engine-tools.ts), the question desk (human-wait.ts) and delegation use it, so
 * none of them imports the loop.
 */
import type { z } from 'zod';
import type { Blueprint, Limits } from '../blueprint/schema.js';
import type { ApprovalDesk } from './approval-wait.js';
import type { BudgetState, ChatMessage, GoalArgs, GoalRecord, StoredText } from './definitions.js';
import type { GoalMcp } from './mcp-tools.js';

/** What one tool call gives back to the model, and what it means for the rest of the turn. */
export interface CallOutcome {
  output: string;
  /** The model got the call wrong and must repair it. */
  repair: boolean;
  /** Set when the turn ends here (handoff, verdict): the reply's later tool calls are not run, for this reason. */
  endsTurn?: string;
  /** Structured details of what happened, for the audit (e.g. which question, answered by whom). */
  detail?: Record<string, unknown>;
  /** The whole output in the conversation store (`output` is then its preview). */
  stored?: StoredText;
}

/** A running goal, as its tools see it. */
export interface EngineContext {
  readonly bp: Blueprint;
  readonly limits: Limits;
  readonly args: GoalArgs;
  /** The goal's one record; tools change it in place. */
  readonly r: GoalRecord;
  /** Messages added once every tool result of the current reply is in (handoff notes, validator feedback). */
  readonly notes: ChatMessage[];
  /** The goal's approvals: opens them and waits for their decisions. */
  readonly desk: ApprovalDesk;
  /** The goal's MCP tools, as pinned when it started. */
  readonly mcp: GoalMcp;
  /**
   * The budget gate (src/workflows/budget-gate.ts) before a step: undefined when there is nothing to wait for, else
   * await it (it may wait for an extension, or end the goal).
   */
  ensureBudget(): Promise<void> | undefined;
  /** The parser of a blueprint tool's arguments, from its JSON Schema. */
  parserFor(name: string): z.ZodType | undefined;
  /** Keeps search attributes and the Web UI's details in step with the record. */
  publish(): void;
  /** A question or approval opened or settled: the status follows what still waits. */
  humansChanged(): void;
  /** Runs a wait on humans, keeping its time out of the working-time budget. */
  waitingOnHumans<T>(wait: () => Promise<T>): Promise<T>;
  /** True when a human wait should continue in a new run: this run's history is full and nothing ties the goal to it. */
  waitMayMove(): boolean;
  /** The budget as used now (computed, never written). */
  currentBudget(): BudgetState;
  /** Ends the goal as completed with this answer. */
  complete(answer: string, by: string, validatedBy?: string): void;
  /** Ends the goal as failed; never returns. */
  fail(reason: string, type: string): never;
}
