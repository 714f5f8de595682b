/**
 * Failure types, named once. Activities throw them, workflows decide retries and outcomes by them, and the audit
 * reads them from history. Pure constants: workflows and activities may both import this module.
 */

/** Failure types a model call can end with. */
export const ModelInvocationError = {
  RateLimit: 'ModelInvocationError.RateLimit',
  Unavailable: 'ModelInvocationError.Unavailable',
  Rejected: 'ModelInvocationError.Rejected',
  Auth: 'ModelInvocationError.Auth',
  Malformed: 'ModelInvocationError.Malformed',
  /** A model call failure that came without a type. */
  Unclassified: 'ModelInvocationError',
} as const;

/** Failure types a tool call can end with. */
export const ToolError = {
  InvalidArguments: 'InvalidToolArguments',
  Failed: 'ToolFailed',
  Unknown: 'UnknownBuiltin',
  MissingSecret: 'MissingSecret',
} as const;

/** Failure types a notification can end with. */
export const NotificationError = {
  Rejected: 'NotificationRejected',
  MissingSecret: ToolError.MissingSecret,
} as const;

/** Failure types a goal can end with. */
export const GoalFailure = {
  BudgetExceeded: 'BudgetExceeded',
  ModelOutput: 'ModelOutputInvalid',
  ValidationFailed: 'ValidationFailed',
  Cancelled: 'GoalCancelled',
  Blueprint: 'BlueprintError',
  /** The goal ended on a failure the engine did not plan for (an infrastructure failure it could not absorb). */
  Internal: 'GoalInternalError',
} as const;
