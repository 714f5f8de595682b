/**
 * A goal's MCP tools, workflow side: discovery runs once, as an activity whose result (every selected tool with its
 * input schema, annotations and schema hash) is recorded in history and carried across continue-as-new and into
 * delegated sub-tasks. Offers, argument checks and call options all come from that pinned list, never from the
 * server's list of the moment, so a changed server cannot change a running goal.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities, ToolRequest } from '../activities/index.js';
import {
  mcpBindings,
  mcpCallSpec,
  mcpSources,
  unselectedModelNames,
  type McpBinding,
  type PinnedMcp,
} from '../blueprint/mcp.js';
import type { AgentSpec, Blueprint } from '../blueprint/schema.js';
import { ToolError } from '../failures.js';
import { durationMs } from './durations.js';
import { changed, Patch } from './patches.js';
import type { ToolOffer } from './engine-tools.js';
import { inlineValue } from './summaries.js';

/** Retry profile of discovery: a server that is starting or briefly away is tried again. */
const mcpDiscovery = {
  startToCloseTimeout: '2m',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['SecretNotAvailable', 'EgressDenied', 'InvalidToolTemplate'],
  },
} as const satisfies ActivityOptions;

const { discoverMcpTools } = proxyActivities<Activities>(mcpDiscovery);

/** Failure types of MCP calls no retry can fix. */
const NON_RETRYABLE = [
  ToolError.InvalidArguments,
  ToolError.McpToolChanged,
  ToolError.MissingSecret,
  'SecretNotAvailable',
  'EgressDenied',
  'InvalidToolTemplate',
];

/** The MCP side of one goal run. */
export class GoalMcp {
  private bindings = new Map<string, McpBinding>();
  private unselected = new Map<string, { source: string; tool: string }>();
  /** Names that could not be offered (collisions, length), for the record. */
  problems: string[] = [];

  constructor(
    private readonly bp: Blueprint,
    public pinned: PinnedMcp,
  ) {
    this.bind();
  }

  /** True when the blueprint has MCP sources. */
  get used(): boolean {
    return Object.keys(mcpSources(this.bp)).length > 0;
  }

  private bind(): void {
    const { bindings, problems } = mcpBindings(this.bp, this.pinned);
    this.bindings = bindings;
    this.problems = problems.map((p) => `${p.source}: ${p.message}`);
    this.unselected = unselectedModelNames(this.bp, this.pinned);
  }

  /**
   * Discovers the tools of every source (first run of a goal only). Returns the reason when a server cannot be
   * reached or listed after the retries: the goal cannot offer what it never saw.
   */
  async discover(): Promise<string | undefined> {
    if (!this.used || !changed(Patch.mcpTools)) return undefined;
    const sources = mcpSources(this.bp);
    try {
      this.pinned = await discoverMcpTools.executeWithOptions(
        { activityId: 'mcp-discovery', summary: `mcp: tools/list of ${Object.keys(sources).join(', ')}` },
        [{ goal: this.bp.name, sources }],
      );
    } catch (err) {
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
        return `MCP discovery failed: ${err.cause.message}`;
      }
      throw err;
    }
    this.bind();
    return undefined;
  }

  /** The MCP tools `agent` may call, by model-facing name. */
  offersFor(agent: AgentSpec): [string, ToolOffer][] {
    return [...this.bindings.values()]
      .filter((b) => agent.tools.includes(b.source))
      .map((b) => [b.modelName, { tool: { kind: 'blueprint', name: b.modelName }, description: b.description }]);
  }

  /** The pinned binding behind a model-facing name. */
  binding(name: string): McpBinding | undefined {
    return this.bindings.get(name);
  }

  /** The pinned input schema of a model-facing name. */
  parameters(name: string): Record<string, unknown> | undefined {
    return this.bindings.get(name)?.inputSchema;
  }

  /** Why a call of a tool the agent was not offered is refused, when the name is one of an MCP server's. */
  refusal(name: string, actor: string): string | undefined {
    const unselected = this.unselected.get(name);
    if (unselected) {
      return `refused: ${unselected.tool} is a tool of MCP server ${unselected.source} that this goal's blueprint does not allow`;
    }
    const bound = this.bindings.get(name);
    if (bound) return `refused: agent ${actor} is not permitted to use ${name} (MCP server ${bound.source})`;
    return undefined;
  }

  /** Activity options and request of one call of `binding`, under the activity id the engine gives it. */
  call(
    binding: McpBinding,
    actor: string,
    args: unknown,
    activityId: string,
  ): { options: ActivityOptions & { activityId: string }; request: ToolRequest } {
    const attempts = binding.sideEffect === 'unsafe' ? 1 : (binding.retry?.maximumAttempts ?? 5);
    return {
      options: {
        activityId,
        summary: `${actor}: mcp ${binding.tool} ${inlineValue(args)}`,
        startToCloseTimeout: durationMs(binding.timeout) + 5_000,
        heartbeatTimeout: '10s',
        retry: {
          initialInterval: '1s',
          backoffCoefficient: 2,
          maximumInterval: '30s',
          ...(binding.retry ?? {}),
          maximumAttempts: attempts,
          nonRetryableErrorTypes: NON_RETRYABLE,
        },
      },
      request: { goal: this.bp.name, agent: actor, tool: binding.modelName, spec: mcpCallSpec(this.bp, binding), args },
    };
  }
}
