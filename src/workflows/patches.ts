import { patched } from '@temporalio/workflow';

/**
 * Names of the `patched()` markers that guard changes in what a running goal does. Each one lets goals recorded
 * before the change replay as they ran and gives goals started after it the new behaviour. Listed once, with the
 * reason, so a later `deprecatePatch` finds them; never rename one.
 */
export const Patch = {
  /** A decision that lands in the same workflow task as the approval's timer settles the approval (c6d1372). */
  approvalSettledWins: 'approval-settled-wins',
  /** A tool call whose worker vanished (timeout) goes back to the model as "outcome unknown" instead of failing. */
  toolOutcomeUnknown: 'tool-outcome-unknown',
  /** A goal that fails on an unplanned error publishes `failed` first, so BatonStatus matches the execution. */
  statusFollowsFailure: 'status-follows-failure',
  /** Tool activity ids (and so idempotency keys) carry the goal's first run id: unique per goal execution. */
  toolKeyPerExecution: 'tool-key-per-execution',
  /** A parent does not count the time its delegated tasks spent waiting on humans against its working time. */
  childHumanWaits: 'child-human-waits',
  /** A CEL `when` that does not give a boolean asks for approval (fails closed) instead of skipping it. */
  celNonBooleanFailsClosed: 'cel-non-boolean-fails-closed',
  /** A reply cut off (`length`) or withheld (`content_filter`) never completes the goal. */
  finishReason: 'finish-reason',
  /** A goal where only a question waits shows `awaiting_reply`, not `awaiting_approval` (DESIGN §2.1). */
  awaitingReply: 'awaiting-reply-status',
  /** Builtin tool schemas come with the first model call instead of a `describeBuiltins` activity (issue 16). */
  builtinSchemasWithModelCall: 'builtin-schemas-with-model-call',
  /**
   * Model calls take their timeout and retry window from the model's settings (`timeout`, `retryFor`), carry the
   * model's key, and a call stopped by an exhausted quota or an outage that outlasts `retryFor` pauses the goal
   * for a human (when the budget has approvers) instead of failing it.
   */
  modelSettings: 'model-settings',
  /** Goals whose blueprint has `mcp` sources discover their tools once and pin them (issue 18). */
  mcpTools: 'baton-mcp-tools',
  /** Outcomes decided in the workflow are recorded as structured facts (memo upserts) the audit reads (facts.ts). */
  auditFacts: 'audit-facts',
  /** A question's timer says what it waits for (`q-1: answer from group:soc due in 4h`) instead of `1 (4h)`. */
  questionTimerSummary: 'question-timer-summary',
  /** A model call's Web UI summary names the model that serves it (the scripted model, when scripted). */
  modelCallSummary: 'model-call-summary',
  /**
   * Decisions, answers and starts count only with a verified signed assertion; trust is recorded through the
   * `loadTrust` activity; unregistered blueprints are refused (DESIGN §2.1, issue 12).
   */
  verifiedIdentity: 'verified-identity',
  /** A model whose onRefusal is `ask` puts its refusals to the agent's askHuman people instead of retrying them. */
  refusalAsk: 'model-refusal-ask',
  /** A model with a `contextWindow` gets its older messages summarised when the next request would not fit. */
  tokenAwareContext: 'token-aware-context',
  /**
   * Human waits stay bounded (issue 14): a wait whose run's history is full continues as new and the next run takes
   * it up; an approval lists only its latest reminders (and counts them all); reminders and escalations notify with
   * the approval by reference (its id and state, not its arguments and log).
   */
  boundedHumanWaits: 'bounded-human-waits',
  /**
   * Continuing as new no longer passes through the goal's failure path, which published `BatonStatus = failed` (and
   * a failed result in the Web UI's details) in the last task of every run that continued as new.
   */
  continueAsNewIsNoEnd: 'continue-as-new-is-no-end',
  /**
   * A model call names the transcript the previous call stored and sends only the messages added since; the activity
   * applies the window (issue 14: a call's input no longer grows with the goal).
   */
  contextByReference: 'context-by-reference',
  /**
   * The operator's trust comes with the goal's first model call, whose activity checks the goal's opening (blueprint
   * registered, start authenticated) before it calls the model, instead of a `loadTrust` activity first (issue 16).
   */
  trustWithFirstModelCall: 'trust-with-first-model-call',
  /**
   * Builtin tools without side effects and with a short timeout run as local activities (`runLocalTool`), inside the
   * workflow task that asked for them, instead of scheduled `runTool` activities (issue 16).
   */
  localBuiltinTools: 'local-builtin-tools',
  /**
   * A step awaits only what it waits on: the budget gate and the context check, when they have nothing to wait for,
   * and the loop's turn dispatch no longer add promises and microtask hops (each promise costs a stack capture in the
   * SDK's stack-trace hook; issue 16). It changes no command, but could change the order in which concurrent parts
   * of a goal issue theirs, so goals recorded before keep their hops.
   */
  leanSteps: 'lean-steps',
  /**
   * A goal started with its four search attributes (`startSearchAttributes`, as `baton start` and the gateway start
   * goals) publishes none of them again until one changes: no upsert in its first task (issue 16).
   */
  startSearchAttributes: 'start-search-attributes',
  /**
   * A reply without tool calls publishes the cost it adds with what follows from it: a goal that ends on it writes its
   * cost and its final status in one search attribute upsert instead of two (issue 16).
   */
  costWithAnswer: 'cost-with-answer',
} as const;

/** A change named in {@link Patch}. */
export type PatchId = (typeof Patch)[keyof typeof Patch];

/**
 * One marker that stands for every change in {@link Patch} up to `leanSteps` (issue 16). Each `patched()` a new goal
 * passes records a marker and a `TemporalChangeVersion` search attribute upsert, two events the server persists: a new
 * goal crossed 19 of them, six before its first model call. Goals recorded from then until the second baseline carry
 * this one instead. Goals recorded before it carry no such marker, so they replay through each change's own marker as
 * before; a goal that started on older code and goes on here takes every change at once from its first new task, as
 * each `patched()` would have.
 */
export const PATCH_BASELINE = 'baton-patch-baseline-1';

/**
 * The second baseline: every change in {@link Patch}, those {@link PATCH_BASELINE} stands for and the ones added after
 * it. A new goal records only this marker. Goals recorded with the first baseline replay through it (and the later
 * changes' own markers, which they do not carry); on new code they take the later changes from their first new task.
 */
export const PATCH_BASELINE_2 = 'baton-patch-baseline-2';

/** The changes added after {@link PATCH_BASELINE}: it does not stand for them. */
const AFTER_BASELINE_1: readonly PatchId[] = [Patch.startSearchAttributes, Patch.costWithAnswer];

/**
 * Whether this goal takes change `id`: the newest baseline first, then the first baseline for the changes it stands
 * for, then `patched(id)` for goals recorded before either, which checked each change alone. Use it instead of
 * `patched()` for every change listed in {@link Patch}; a change added later gets its own `patched()` (and a later
 * baseline may fold it in, never by editing these).
 */
export function changed(id: PatchId): boolean {
  if (patched(PATCH_BASELINE_2)) return true;
  return (!AFTER_BASELINE_1.includes(id) && patched(PATCH_BASELINE)) || patched(id);
}
