/**
 * The goal language: one zod schema for a blueprint, from which Baton derives the TypeScript types, the parser
 * and the published JSON Schema. This module is pure (no I/O), so workflow code may import its types. It is long on
 * purpose: the goal language is one schema, and its parts reference each other (tools, agents, policies, budgets);
 * split, the published JSON Schema and the `FILE:LINE:COL` errors would come from several places.
 */
import { parse as parseCel } from '@marcbachmann/cel-js';
import { conditionProblem } from './conditions.js';
import { DERIVED_ENGINE_TOOLS, HANDOFF_PREFIX, LISTED_ENGINE_TOOLS } from './engine-tool-names.js';
import { z } from 'zod';
import { durationMs } from '../workflows/durations.js';

/** A duration the workflow can sleep on: a whole number and a unit (`30s`, `15m`, `4h`, `1d`, `2w`). */
export const DurationSchema = z
  .string()
  .regex(/^\d+(ms|s|m|h|d|w)$/, { message: 'expected a duration such as 30s, 15m, 4h, 1d or 2w' });

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const nameMessage = 'use lower case letters, digits, "-" or "_", starting with a letter (at most 63 characters)';

/** A JSON Schema describing an object (goal input, tool parameters). Checked for shape, not for full validity. */
export const ObjectJsonSchema = z
  .looseObject({ type: z.literal('object', { message: 'a JSON Schema here must have type: object' }) })
  .describe('A JSON Schema with type: object');

const PriceSchema = z.strictObject({
  input: z.number().nonnegative().describe('USD per 1M input tokens'),
  output: z.number().nonnegative().describe('USD per 1M output tokens (reasoning tokens are output tokens)'),
  cachedInput: z
    .number()
    .nonnegative()
    .optional()
    .describe('USD per 1M input tokens the provider served from its prompt cache; default: the input price'),
});

/** The model APIs Baton speaks; each is one module behind the model-client seam (src/activities/model/). */
export const ModelApiSchema = z
  .enum(['openai-chat'])
  .describe('openai-chat: any OpenAI-compatible chat-completions endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp)');

/**
 * Model settings an agent refers to by key (`models.default`). New fields are optional without zod defaults, so a
 * goal pinned before they existed runs unchanged; the model activity and the goal loop apply the defaults.
 */
export const ModelSettingsSchema = z
  .strictObject({
    model: z.string().min(1).describe('Model name as the OpenAI-compatible endpoint knows it'),
    api: ModelApiSchema.optional(),
    baseUrl: z
      .string()
      .regex(/^(https?:\/\/|\$\{env:[A-Za-z_][A-Za-z0-9_]*\})/, {
        message: 'baseUrl must be an http(s) URL or start with ${env:NAME}',
      })
      .optional()
      .describe("The endpoint's base URL (…/v1); may use ${env:NAME}. Default: the worker's OPENAI_BASE_URL"),
    apiKey: z
      .string()
      .regex(/^\$\{secret:[A-Za-z_][A-Za-z0-9_]*\}$/, {
        message: "the API key must be a reference, ${secret:NAME}, with NAME set in the worker's environment",
      })
      .optional()
      .describe("The endpoint's API key as ${secret:NAME}. Default: the worker's OPENAI_API_KEY"),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z
      .int()
      .positive()
      .optional()
      .describe('Output-token cap of one reply (default 4096), so a runaway reply stops'),
    tokenLimitParameter: z
      .enum(['max_tokens', 'max_completion_tokens'])
      .optional()
      .describe('How the cap is sent; default: max_completion_tokens for reasoning models, else max_tokens'),
    reasoning: z
      .strictObject({ effort: z.enum(['minimal', 'low', 'medium', 'high']).optional() })
      .optional()
      .describe('Marks a reasoning model (o-series, gpt-5): no temperature, max_completion_tokens, reasoning_effort'),
    stream: z.boolean().optional().describe('Stream the reply (progress in heartbeats); default true'),
    timeout: DurationSchema.optional().describe(
      "Each attempt is abandoned after this long; default the worker's BATON_MODEL_TIMEOUT or 4m",
    ),
    retryFor: DurationSchema.optional().describe(
      'How long rate limits, timeouts and outages are retried (retry-after honoured) before the goal pauses; default 1h',
    ),
    onRefusal: z
      .enum(['retry', 'fail', 'ask'])
      .optional()
      .describe(
        "A refusal or content-filter stop: retry (default: the agent is told, counted as a repair), fail the goal, or ask the agent's askHuman people, whose answer the agent goes on with",
      ),
    contextWindow: z
      .int()
      .min(1024)
      .optional()
      .describe(
        'Tokens the model accepts in one request; when set, the goal summarises older context before a call would not fit',
      ),
    price: PriceSchema.optional().describe('USD per 1M tokens, for cost budgets and reports'),
  })
  .superRefine((m, ctx) => {
    if (m.reasoning && m.temperature !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['temperature'],
        message: 'reasoning models take no temperature: remove temperature or reasoning',
      });
    }
  });

/** What an agent is for; it shapes the system prompt and what the engine expects of it. */
export const AgentRoleSchema = z.enum(['planner', 'researcher', 'executor', 'validator', 'user-facing']);

const ApproverRef = z.string().regex(/^(\*|group:[a-z][a-z0-9_-]*|[A-Za-z0-9._@+-]+)$/, {
  message: 'an approver is a user name, group:NAME, or * (anyone who names themselves)',
});

/** Who answers an agent's questions (`ask_human`; refusals with onRefusal: ask), and how long it waits. */
export const AskHumanSchema = z.strictObject({
  to: z.array(ApproverRef).min(1, { message: 'name at least one person or group:NAME who answers' }),
  timeout: DurationSchema.optional().describe('Stop waiting after this long; the agent is told nobody answered'),
});

export const AgentSchema = z.strictObject({
  role: AgentRoleSchema,
  description: z.string().optional().describe('One line other agents see in their handoff and delegate tools'),
  instructions: z.string().min(1, { message: 'instructions must say what this agent does' }),
  model: z.string().default('default').describe('Key of an entry under models'),
  tools: z
    .array(z.string())
    .default([])
    .describe('Tools this agent may call (blueprint tools, memory_read, memory_write, ask_human); others are refused'),
  handoffs: z.array(z.string()).default([]).describe('Agents this agent may hand the goal to (handoff_to_<agent>)'),
  delegates: z
    .array(z.string())
    .default([])
    .describe('Agents this agent may give sub-tasks to; they run in parallel as child workflows (delegate tool)'),
  askHuman: AskHumanSchema.optional().describe(
    "Required with the ask_human tool and with a model's onRefusal: ask: who answers, how long to wait",
  ),
});

/** Who must approve a risky action, how often they are reminded, who is added when it waits, and for how long. */
export const ApprovalPolicySchema = z.strictObject({
  when: z
    .string()
    .optional()
    .describe('CEL expression over args and input; the approval is needed when it is true. Absent: always'),
  approvers: z.array(ApproverRef).min(1, { message: 'name at least one approver' }),
  quorum: z
    .int()
    .positive({ message: 'quorum is how many different approvers must approve: at least 1' })
    .default(1)
    .describe('How many distinct approvers must approve'),
  remind: DurationSchema.optional().describe('Send a reminder at this interval while the approval waits'),
  escalate: z
    .array(z.strictObject({ after: DurationSchema, to: z.array(ApproverRef).min(1) }))
    .default([])
    .describe('Each step, counted from when the approval opened, lets these approvers act too'),
  timeout: DurationSchema.optional().describe('Stop waiting after this long'),
  onTimeout: z
    .enum(['reject', 'cancel'])
    .default('reject')
    .describe('reject: the agent is told nobody approved; cancel: the goal ends as cancelled'),
  selfApproval: z
    .enum(['forbid', 'allow'])
    .optional()
    .describe("Whether the goal's verified starter may approve its own request. Absent: forbid (separation of duties)"),
});

/** What an approval notification is sent for. */
export const NotificationEventSchema = z.enum([
  'approval.opened',
  'approval.reminder',
  'approval.escalated',
  'approval.decided',
]);

/** A webhook that hears about approvals: a JSON POST whose body is signed with HMAC-SHA256. */
export const WebhookSchema = z.strictObject({
  type: z.literal('webhook'),
  url: z
    .string()
    .min(1)
    .describe("Where to POST; may use ${env:NAME} or ${secret:NAME}, resolved from the worker's map"),
  secret: z
    .string()
    .regex(/^\$\{secret:[A-Za-z_][A-Za-z0-9_]*\}$/, {
      message: "the signing key must be a reference, ${secret:NAME}, with NAME set in the worker's environment",
    })
    .describe('HMAC-SHA256 key of the x-baton-signature header, as ${secret:NAME}'),
  events: z
    .array(NotificationEventSchema)
    .min(1)
    .default(['approval.opened', 'approval.reminder', 'approval.escalated', 'approval.decided'])
    .describe('Events to send; default: all'),
});

/** Where approval notifications go (one entry per destination). */
export const NotificationSchema = z.discriminatedUnion('type', [WebhookSchema]);

export const RetrySchema = z.strictObject({
  maximumAttempts: z.int().positive().optional(),
  initialInterval: DurationSchema.optional(),
  maximumInterval: DurationSchema.optional(),
  backoffCoefficient: z.number().min(1).optional(),
});

/** How a tool may affect the world: decides whether Temporal retries it. */
export const SideEffectSchema = z
  .enum(['none', 'idempotent', 'unsafe'])
  .describe('none and idempotent tools are retried; unsafe tools run at most once');

const toolCommon = {
  description: z.string().optional().describe('What the model is told the tool does'),
  sideEffect: SideEffectSchema.default('unsafe'),
  approval: ApprovalPolicySchema.optional(),
  timeout: DurationSchema.default('30s').describe('Each attempt is abandoned after this long'),
  retry: RetrySchema.optional().describe('Retry profile of none and idempotent tools (unsafe tools run once)'),
  maxResponseBytes: z
    .int()
    .positive()
    .default(65_536)
    .describe('Longer responses are cut to this many bytes, and the model is told so'),
  secrets: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'a secret name is letters, digits and _' }))
    .default([])
    .describe("Secrets the tool may use as ${secret:NAME}; the worker's BATON_SECRETS must map each one for it"),
};

export const HttpToolSchema = z.strictObject({
  type: z.literal('http'),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
  url: z
    .string()
    .min(1)
    .describe(
      "URL template: {{arg}} from the call; ${env:NAME} (BATON_TOOL_ENV) or ${secret:NAME} from the worker's map",
    ),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.unknown().optional().describe('JSON body template; strings may use {{arg}}'),
  parameters: ObjectJsonSchema.default({ type: 'object', properties: {} }).describe('JSON Schema of the arguments'),
  ...toolCommon,
});

export const BuiltinToolSchema = z.strictObject({
  type: z.literal('builtin'),
  function: z.string().optional().describe('Name of the function registered in the worker; default: the tool key'),
  ...toolCommon,
});

// --- MCP tool source (issue 18): one server, the tools of it agents may use, and how each is governed. ---

/** A selection key: an MCP tool name, or a pattern where `*` stands for any run of characters. */
const McpSelector = z.string().regex(/^[A-Za-z0-9_*./-]{1,128}$/, {
  message: 'select MCP tools by name or pattern: letters, digits, _ . / - and * (any run of characters)',
});

/** How one selected MCP tool is governed; what is left out comes from the server's annotations and the source. */
export const McpToolSettingsSchema = z.strictObject({
  description: z.string().optional().describe("What the model is told the tool does; default: the server's text"),
  sideEffect: SideEffectSchema.optional().describe(
    'Default from annotations: readOnlyHint gives none, idempotentHint without destructiveHint gives idempotent, anything else unsafe',
  ),
  approval: ApprovalPolicySchema.optional(),
  timeout: DurationSchema.optional().describe("Each attempt is abandoned after this long; default: the source's"),
  retry: RetrySchema.optional().describe('Retry profile of none and idempotent tools (unsafe tools run once)'),
});

/** A Model Context Protocol server whose selected tools agents may use: stdio (command) or Streamable HTTP (url). */
export const McpToolSchema = z.strictObject({
  description: z.string().optional().describe('What the server is for (shown in the audit, not to the model)'),
  command: z
    .string()
    .min(1)
    .optional()
    .describe("stdio: the program the worker starts once and keeps; may use ${env:NAME} from the worker's settings"),
  args: z.array(z.string()).default([]).describe('stdio: its arguments; may use ${env:NAME}'),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string())
    .default({})
    .describe(
      'stdio: environment of the server process (nothing else of the worker is passed); may use ${secret:NAME}',
    ),
  url: z.string().min(1).optional().describe('Streamable HTTP endpoint; may use ${env:NAME} or ${secret:NAME}'),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe('Streamable HTTP: request headers; secrets as ${secret:NAME}, declared in secrets'),
  secrets: toolCommon.secrets,
  tools: z
    .record(McpSelector, McpToolSettingsSchema.prefault({}))
    .refine((t) => Object.keys(t).length > 0, {
      message: 'select at least one tool of the server, by name or pattern ("*" selects all: not recommended)',
    })
    .describe('The tools agents may use, by name or pattern, each with its governance; others are never offered'),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]{0,32}$/, { message: 'a prefix is at most 32 letters, digits, _ or -' })
    .optional()
    .describe('What the model sees before each tool name; default: the source key and "_" (fs_read_file)'),
  timeout: DurationSchema.default('30s').describe('Default timeout of each call, and of discovery'),
  maxResponseBytes: toolCommon.maxResponseBytes,
  maxConcurrency: z.int().positive().max(64).default(4).describe('Calls in flight to this server from one worker'),
});

export const ToolSchema = z.discriminatedUnion('type', [HttpToolSchema, BuiltinToolSchema]);

export const BudgetSchema = z.strictObject({
  maxSteps: z.int().positive().default(40).describe('Model calls plus tool calls, delegated tasks included'),
  maxTokens: z.int().positive().optional().describe('Input plus output tokens'),
  maxCostUsd: z.number().positive().optional().describe('From the price of each model'),
  maxDuration: DurationSchema.optional().describe('Workflow time spent working; waiting on humans is not counted'),
  onExceeded: z.enum(['ask', 'fail']).default('fail').describe('ask: open an approval to extend; fail: end the goal'),
  approval: ApprovalPolicySchema.omit({ when: true })
    .optional()
    .describe('Who approves an extension when onExceeded is ask; each approval adds the original limits again'),
});

/** Engine bounds: how far the goal lets the model stray, and how long a run's history may grow. */
export const LimitsSchema = z
  .strictObject({
    repairs: z
      .int()
      .nonnegative()
      .default(3)
      .describe('Unusable replies in a row (bad JSON or arguments, unknown tool, empty reply) before the goal fails'),
    validationRounds: z
      .int()
      .positive()
      .default(2)
      .describe('Times the validator may send an answer back before the goal fails'),
    stepsPerRun: z
      .int()
      .min(10)
      .default(200)
      .describe('Continue as new after this many steps in one run (also whenever Temporal suggests it)'),
    contextMessages: z
      .int()
      .min(4)
      .default(40)
      .describe('Latest transcript messages the model sees (the goal input is always shown)'),
    memoryEntries: z.int().positive().default(100).describe('Keys shared memory may hold'),
    parallelTasks: z.int().positive().default(4).describe('Sub-tasks one delegate call may start'),
  })
  .prefault({});

/** Tools the engine provides and agents list by name in `tools`. */
export const ENGINE_TOOLS: readonly string[] = LISTED_ENGINE_TOOLS;
/** Tools the engine derives from the blueprint; a blueprint may neither define nor list them. */
export const DERIVED_TOOLS: readonly string[] = DERIVED_ENGINE_TOOLS;
export { HANDOFF_PREFIX };
/** OpenAI function names are at most 64 characters. */
const MAX_TOOL_NAME = 64;

const SECRET_FIELD = /^(password|passwd|secret|token|api[-_]?key|access[-_]?token|client[-_]?secret|private[-_]?key)$/i;

/** Paths of body fields that look like credentials written in clear (not `${secret:NAME}`, not `{{arg}}`). */
function literalSecretsInBody(body: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(body)) return body.flatMap((v, i) => literalSecretsInBody(v, [...path, i]));
  if (!body || typeof body !== 'object') return [];
  return Object.entries(body).flatMap(([key, value]) =>
    typeof value === 'string'
      ? SECRET_FIELD.test(key) && value !== '' && !value.includes('${secret:') && !value.includes('{{')
        ? [[...path, key]]
        : []
      : literalSecretsInBody(value, [...path, key]),
  );
}

function derivedHint(tool: string): string {
  if (tool.startsWith(HANDOFF_PREFIX)) return `list the agent under handoffs instead`;
  if (tool === 'plan') return 'planner agents get it';
  if (tool === 'delegate') return 'agents with delegates get it';
  return 'the validator agent gets it';
}

const SECRET_HEADER = /authorization|token|api[-_]?key|secret|password|cookie/i;
const SECRET_QUERY = /[?&](access_token|token|api_?key|key|secret|password)=(?!\$\{secret:)/i;

/** The MCP source's own rules: one transport, no literal secrets, every secret reference declared. */
function checkMcpSource(
  tool: z.output<typeof McpToolSchema>,
  path: (string | number)[],
  issue: (path: (string | number)[], message: string) => void,
  checkPolicy: (policy: z.output<typeof ApprovalPolicySchema>, path: (string | number)[]) => void,
): void {
  if ((tool.command === undefined) === (tool.url === undefined)) {
    issue(path, 'an mcp source needs exactly one of command (stdio) or url (Streamable HTTP)');
  }
  if (tool.command !== undefined && Object.keys(tool.headers).length) {
    issue([...path, 'headers'], 'headers are for url (Streamable HTTP) servers; a stdio server takes env');
  }
  if (tool.url !== undefined && (tool.args.length || Object.keys(tool.env).length)) {
    issue(path, 'args and env are for command (stdio) servers; an HTTP server takes headers');
  }
  for (const [header, value] of Object.entries(tool.headers)) {
    if (SECRET_HEADER.test(header) && !value.includes('${secret:')) {
      issue(
        [...path, 'headers', header],
        `literal secret in header ${header}; reference it as \${secret:NAME} and set NAME in the worker's environment`,
      );
    }
  }
  if (tool.url !== undefined && SECRET_QUERY.test(tool.url)) {
    issue([...path, 'url'], 'literal secret in the URL query; use ${secret:NAME} instead');
  }
  const inCommand = [tool.command ?? '', ...tool.args].join(' ');
  if (inCommand.includes('${secret:')) {
    issue([...path, 'args'], 'secrets in a command line are visible to every process; pass them in env instead');
  }
  const used = [tool.url ?? '', ...Object.values(tool.headers), ...Object.values(tool.env)].flatMap((text) =>
    [...text.matchAll(/\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!),
  );
  for (const secret of new Set(used)) {
    if (!tool.secrets.includes(secret)) {
      issue(path, `uses \${secret:${secret}} without declaring it: add secrets: [${secret}] to the tool`);
    }
  }
  for (const [selector, settings] of Object.entries(tool.tools)) {
    if (settings.approval) checkPolicy(settings.approval, [...path, 'tools', selector, 'approval']);
  }
}

export const BlueprintSchema = z
  .strictObject({
    apiVersion: z.literal('baton/v1', { message: 'apiVersion must be baton/v1' }),
    name: z.string().regex(NAME, { message: nameMessage }),
    description: z.string().optional(),
    input: ObjectJsonSchema.optional().describe('JSON Schema of the goal input'),
    models: z
      .record(z.string(), ModelSettingsSchema)
      .refine((m) => Object.keys(m).length > 0, { message: 'define at least one model, usually models.default' }),
    agents: z
      .record(z.string().regex(NAME, { message: nameMessage }), AgentSchema)
      .refine((a) => Object.keys(a).length > 0, { message: 'define at least one agent' }),
    entry: z.string().describe('The agent that starts the goal'),
    validator: z.string().optional().describe('The agent that must accept the final answer'),
    tools: z.record(z.string().regex(NAME, { message: nameMessage }), ToolSchema).default({}),
    mcp: z
      .record(z.string().regex(NAME, { message: nameMessage }), McpToolSchema)
      .optional() // absent stays absent, so blueprints without MCP keep their hashes
      .describe("MCP servers whose selected tools agents may use: list the source key in an agent's tools"),
    approvers: z.record(z.string(), z.array(ApproverRef)).default({}).describe('Groups of approvers'),
    budget: BudgetSchema.default({ maxSteps: 40, onExceeded: 'fail' }),
    notifications: z.array(NotificationSchema).default([]).describe('Where approval notifications are sent'),
    limits: LimitsSchema.describe('Engine bounds: repairs, validation rounds, history per run, context, memory'),
  })
  .superRefine((bp, ctx) => {
    const issue = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: 'custom', path, message });
    };
    const agents = Object.keys(bp.agents);
    const list = (names: string[]): string => (names.length ? names.join(', ') : 'none defined');
    const checkApprovers = (refs: string[], path: (string | number)[]): void => {
      refs.forEach((ref, i) => {
        if (ref.startsWith('group:') && !bp.approvers[ref.slice(6)]) {
          issue([...path, i], `unknown approver group "${ref.slice(6)}"; define it under approvers`);
        }
      });
    };
    /** A quorum more people than can ever decide would leave the approval waiting forever. */
    const checkQuorum = (
      policy: { approvers: string[]; quorum: number; escalate: { to: string[] }[] },
      path: (string | number)[],
    ): void => {
      const refs = [...policy.approvers, ...policy.escalate.flatMap((e) => e.to)];
      if (refs.some((r) => r.startsWith('group:') && !bp.approvers[r.slice(6)])) return; // reported as unknown group
      if (refs.includes('*') || refs.some((r) => r.startsWith('group:') && bp.approvers[r.slice(6)]?.includes('*')))
        return;
      const people = new Set(refs.flatMap((r) => (r.startsWith('group:') ? (bp.approvers[r.slice(6)] ?? []) : [r])));
      if (policy.quorum > people.size) {
        issue(
          [...path, 'quorum'],
          `quorum ${policy.quorum} needs ${policy.quorum} different approvers, but only ${people.size} can decide; lower it or add approvers`,
        );
      }
    };
    if (!bp.agents[bp.entry]) issue(['entry'], `entry names no agent "${bp.entry}"; agents: ${list(agents)}`);
    if (bp.validator !== undefined && !bp.agents[bp.validator]) {
      issue(['validator'], `validator names no agent "${bp.validator}"; agents: ${list(agents)}`);
    }
    for (const [name, agent] of Object.entries(bp.agents)) {
      if (!bp.models[agent.model]) {
        issue(['agents', name, 'model'], `unknown model "${agent.model}"; models: ${list(Object.keys(bp.models))}`);
      }
      agent.tools.forEach((tool, i) => {
        if (DERIVED_TOOLS.includes(tool) || tool.startsWith(HANDOFF_PREFIX)) {
          issue(['agents', name, 'tools', i], `${tool} is given by the engine, not listed: ${derivedHint(tool)}`);
        } else if (!bp.tools[tool] && !bp.mcp?.[tool] && !ENGINE_TOOLS.includes(tool)) {
          issue(
            ['agents', name, 'tools', i],
            `unknown tool "${tool}"; define it under tools or remove it (built in: ${ENGINE_TOOLS.join(', ')})`,
          );
        }
      });
      if (agent.tools.includes('ask_human')) {
        if (agent.role !== 'user-facing') {
          issue(['agents', name, 'role'], 'ask_human is for user-facing agents; set role: user-facing');
        }
        if (!agent.askHuman) {
          issue(['agents', name], 'ask_human needs askHuman: { to: [...] } naming who answers');
        }
      } else if (agent.askHuman && bp.models[agent.model]?.onRefusal !== 'ask') {
        issue(
          ['agents', name, 'askHuman'],
          'askHuman is set but ask_human is not in tools (nor does its model ask on refusals, onRefusal: ask); add ask_human or remove askHuman',
        );
      }
      if (bp.models[agent.model]?.onRefusal === 'ask' && !agent.askHuman) {
        issue(
          ['agents', name],
          `model "${agent.model}" asks a human when it refuses (onRefusal: ask): give agent ${name} askHuman: { to: [...] } naming who answers`,
        );
      }
      if (agent.askHuman) checkApprovers(agent.askHuman.to, ['agents', name, 'askHuman', 'to']);
      for (const field of ['handoffs', 'delegates'] as const) {
        agent[field].forEach((to, i) => {
          const path = ['agents', name, field, i];
          if (!bp.agents[to])
            issue(
              path,
              `${field === 'handoffs' ? 'handoff' : 'delegation'} to unknown agent "${to}"; agents: ${list(agents)}`,
            );
          else if (to === name)
            issue(path, `an agent cannot ${field === 'handoffs' ? 'hand off' : 'delegate'} to itself`);
          else if (field === 'handoffs' && (HANDOFF_PREFIX + to).length > MAX_TOOL_NAME) {
            issue(
              path,
              `agent name "${to}" is too long for a handoff tool; use at most ${MAX_TOOL_NAME - HANDOFF_PREFIX.length} characters`,
            );
          }
        });
      }
    }
    if (
      bp.validator !== undefined &&
      bp.agents[bp.validator]?.role !== undefined &&
      bp.agents[bp.validator]?.role !== 'validator'
    ) {
      issue(
        ['validator'],
        `agent "${bp.validator}" has role ${bp.agents[bp.validator]?.role}; a validator must have role: validator`,
      );
    }
    for (const name of Object.keys(bp.tools)) {
      if ([...ENGINE_TOOLS, ...DERIVED_TOOLS].includes(name) || name.startsWith(HANDOFF_PREFIX)) {
        issue(['tools', name], `"${name}" is a name the engine reserves; rename the tool`);
      }
    }
    const checkPolicy = (
      policy: z.output<typeof ApprovalPolicySchema>,
      path: (string | number)[],
      argsSchema?: unknown,
    ): void => {
      checkApprovers(policy.approvers, [...path, 'approvers']);
      checkQuorum(policy, path);
      // Durations that failed their own check are reported there; they are skipped here.
      const ms = (text: string | undefined): number | undefined =>
        text !== undefined && DurationSchema.safeParse(text).success ? durationMs(text) : undefined;
      const timeout = ms(policy.timeout);
      let previous = -1;
      policy.escalate.forEach((step, i) => {
        checkApprovers(step.to, [...path, 'escalate', i, 'to']);
        const after = ms(step.after);
        if (after === undefined) return;
        if (after <= previous) {
          issue(
            [...path, 'escalate', i, 'after'],
            'escalation steps count from the opening: list them in rising order',
          );
        } else if (timeout !== undefined && after >= timeout) {
          issue(
            [...path, 'escalate', i, 'after'],
            `this escalation (${step.after}) would come after the timeout (${policy.timeout}); shorten it or raise timeout`,
          );
        }
        previous = after;
      });
      if (policy.when !== undefined) {
        try {
          parseCel(policy.when);
        } catch (err) {
          const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
          issue([...path, 'when'], `invalid CEL expression: ${first}`);
          return;
        }
        const problem = conditionProblem(policy.when, argsSchema, bp.input);
        if (problem !== undefined) issue([...path, 'when'], `approval condition: ${problem}`);
      }
    };
    if (bp.budget.approval) checkPolicy(bp.budget.approval, ['budget', 'approval']);
    else if (bp.budget.onExceeded === 'ask') {
      issue(['budget', 'onExceeded'], 'onExceeded: ask needs budget.approval to say who may extend the budget');
    }
    bp.notifications.forEach((hook, i) => {
      if (SECRET_QUERY.test(hook.url)) {
        issue(['notifications', i, 'url'], 'literal secret in the URL query; use ${secret:NAME} instead');
      }
    });
    for (const [name, source] of Object.entries(bp.mcp ?? {})) {
      if (bp.tools[name]) issue(['mcp', name], `"${name}" names both a tool and an mcp source; rename one`);
      if ([...ENGINE_TOOLS, ...DERIVED_TOOLS].includes(name) || name.startsWith(HANDOFF_PREFIX)) {
        issue(['mcp', name], `"${name}" is a name the engine reserves; rename the source`);
      }
      checkMcpSource(source, ['mcp', name], issue, checkPolicy);
    }
    for (const [name, tool] of Object.entries(bp.tools)) {
      if (tool.approval) {
        checkPolicy(tool.approval, ['tools', name, 'approval'], tool.type === 'http' ? tool.parameters : undefined);
      }
      if (tool.type === 'http') {
        for (const [header, value] of Object.entries(tool.headers)) {
          if (SECRET_HEADER.test(header) && !value.includes('${secret:')) {
            issue(
              ['tools', name, 'headers', header],
              `literal secret in header ${header}; reference it as \${secret:NAME} and set NAME in the worker's environment`,
            );
          }
        }
        if (SECRET_QUERY.test(tool.url)) {
          issue(['tools', name, 'url'], 'literal secret in the URL query; use ${secret:NAME} instead');
        }
        const used = [tool.url, ...Object.values(tool.headers), JSON.stringify(tool.body ?? null)].flatMap((text) =>
          [...text.matchAll(/\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!),
        );
        for (const secret of new Set(used)) {
          if (!tool.secrets.includes(secret)) {
            issue(
              ['tools', name],
              `uses \${secret:${secret}} without declaring it: add secrets: [${secret}] to the tool`,
            );
          }
        }
        for (const path of literalSecretsInBody(tool.body)) {
          issue(
            ['tools', name, 'body', ...path],
            `literal secret in the body field ${String(path.at(-1))}; reference it as \${secret:NAME} and set NAME in the worker's environment`,
          );
        }
      }
    }
  });

/** A blueprint as written (before defaults). */
export type BlueprintInput = z.input<typeof BlueprintSchema>;
/** A validated, normalized blueprint: what a goal runs with, pinned in its first history event. */
export type Blueprint = z.output<typeof BlueprintSchema>;
export type AgentSpec = Blueprint['agents'][string];
export type ToolSpec = Blueprint['tools'][string];
export type HttpToolSpec = z.output<typeof HttpToolSchema>;
export type BuiltinToolSpec = z.output<typeof BuiltinToolSchema>;
export type McpToolSpec = z.output<typeof McpToolSchema>;
export type McpToolSettings = z.output<typeof McpToolSettingsSchema>;
export type ApprovalPolicy = z.output<typeof ApprovalPolicySchema>;
export type WebhookSpec = z.output<typeof WebhookSchema>;
export type NotificationEvent = z.output<typeof NotificationEventSchema>;
export type ModelSettings = z.output<typeof ModelSettingsSchema>;
export type SideEffect = z.output<typeof SideEffectSchema>;
export type BudgetSpec = z.output<typeof BudgetSchema>;
export type Limits = z.output<typeof LimitsSchema>;
export type AgentRole = z.output<typeof AgentRoleSchema>;
