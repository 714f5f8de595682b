/**
 * A goal's opening check: its blueprint registered (or ad hoc where the operator allows it) and its start
 * authenticated. One pure function, run by the first model call's activity against the trust it reads, before the
 * model is called (so an unregistered blueprint never reaches a model); the call returns the trust and the verdict,
 * which the workflow records as its own (a replay reads both from the history). Goals whose reply carried only the
 * trust, and goals that read their trust with a `loadTrust` activity first, run the same function in the workflow.
 */
import { checkBlueprint, checkStart, type BlueprintStanding, type StartIdentity } from './decisions.js';
import type { TrustSnapshot } from './trust.js';

/** What the check needs, as the workflow computed it in the task that asked. */
export interface OpeningCheck {
  /** The goal whose start the assertion names (a delegated task's root goal). */
  goalId: string;
  blueprintName: string;
  /** sha256 of the blueprint as the workflow received it, computed by the workflow. */
  blueprintHash: string;
  /** Workflow time when the check was asked: assertions are judged at it. */
  nowMs: number;
  /** The start to authenticate; absent on a continued run, which keeps its first run's verdict. */
  start?: { assertion?: unknown; input: unknown; claimedBy: string };
}

/** The verdict: the blueprint's standing and the starter, or why the goal may not run. */
export type Opening =
  | { ok: true; standing: Exclude<BlueprintStanding, { ok: false }>; start?: StartIdentity }
  | { ok: false; reason: string };

/** Checks a goal's opening against the operator's trust. */
export function checkOpening(trust: TrustSnapshot, check: OpeningCheck): Opening {
  const standing = checkBlueprint(trust, check.blueprintName, check.blueprintHash);
  if (!standing.ok) return { ok: false, reason: standing.reason };
  if (!check.start) return { ok: true, standing };
  const start = checkStart(
    { goalId: check.goalId, trust, nowMs: check.nowMs, seen: () => false },
    {
      assertion: check.start.assertion,
      blueprintName: check.blueprintName,
      computedHash: check.blueprintHash,
      input: check.start.input,
      claimedBy: check.start.claimedBy,
    },
  );
  if ('refused' in start) return { ok: false, reason: start.refused };
  return { ok: true, standing, start };
}
