/**
 * Failure types, named once. Activities throw them, workflows decide retries and outcomes by them, and the audit
 * reads them from history. Pure constants: workflows and activities may both import this module.
 */

/** Failure types a model call can end with. */
export const ModelInvocationError = {
  /** 429: retried, following `retry-after`, for as long as the model's `retryFor` allows. */
  RateLimit: 'ModelInvocationError.RateLimit',
  /** 408/409/425/5xx, a broken stream or an unreachable endpoint: retried. */
  Unavailable: 'ModelInvocationError.Unavailable',
  /** The attempt ran past the model's timeout; the stream was closed. Retried. */
  Timeout: 'ModelInvocationError.Timeout',
  /** The server refused the request as invalid (400/404/413/422, a validation error): the same request fails again. */
  InvalidRequest: 'ModelInvocationError.InvalidRequest',
  /** Another 4xx: not retried. */
  Rejected: 'ModelInvocationError.Rejected',
  /** 401/403: not retried. */
  Auth: 'ModelInvocationError.Auth',
  /** The account's quota is used up (`insufficient_quota`): not retried; a human adds credit and resumes the goal. */
  QuotaExhausted: 'ModelInvocationError.QuotaExhausted',
  /** A reply the client could not read: retried. */
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
  /** An MCP server no longer has the tool a goal pinned, or its changed schema no longer fits the call. */
  McpToolChanged: 'McpToolChanged',
  /** An MCP server could not be reached or listed when the goal started. */
  McpDiscoveryFailed: 'McpDiscoveryFailed',
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
  /** The model refused, or the provider's filter stopped the reply, and the model's onRefusal is fail. */
  ModelRefused: 'ModelRefused',
  /** The goal ended on a failure the engine did not plan for (an infrastructure failure it could not absorb). */
  Internal: 'GoalInternalError',
} as const;
