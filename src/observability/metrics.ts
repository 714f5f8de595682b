/**
 * Baton's activity-side metrics: model calls, tokens and cost, tool calls and errors, step and tool durations.
 * They are recorded by an activity interceptor through the activity's `metricMeter`, so they count real calls (every
 * attempt, never a replay) and land in the same Prometheus registry as the SDK's own metrics.
 */
import { ApplicationFailure } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptors,
  Next,
} from '@temporalio/worker';
import type { Context } from '@temporalio/activity';
import type { ModelReply, ModelRequest, ToolRequest } from '../activities/index.js';
import { costOfReply } from '../activities/model/pricing.js';
import { GoalMetric } from '../workflows/metrics.js';

/** Activity-side metric names (Prometheus adds `_total` to counters and the unit to histograms). */
export const ActivityMetric = {
  stepDuration: 'baton_step_duration',
  modelCalls: 'baton_model_calls',
  modelErrors: 'baton_model_errors',
  tokens: 'baton_model_tokens',
  cost: 'baton_model_cost',
  toolCalls: 'baton_tool_calls',
  toolErrors: 'baton_tool_errors',
  toolDuration: 'baton_tool_duration',
} as const;

const latency = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const waits = [1, 10, 60, 300, 900, 3600, 4 * 3600, 86_400, 3 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400];

/** Bucket boundaries of Baton's histograms, for the runtime's Prometheus exporter. */
export const histogramBuckets: Record<string, number[]> = {
  [ActivityMetric.stepDuration]: latency,
  [ActivityMetric.toolDuration]: latency,
  [ActivityMetric.cost]: [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  [GoalMetric.duration]: [1, 10, 60, 300, 1800, 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400],
  [GoalMetric.approvalWait]: waits,
};

function errorType(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.type ?? 'ApplicationFailure';
  return err instanceof Error ? err.name : 'unknown';
}

class ActivityMetricsInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const type = this.ctx.info.activityType;
    if (type !== 'callModel' && type !== 'runTool') return next(input);
    const meter = this.ctx.metricMeter;
    const started = performance.now();
    const elapsed = (): number => (performance.now() - started) / 1000;
    const stepDuration = meter.createHistogram(ActivityMetric.stepDuration, 'float', 'seconds', 'Goal step duration');
    if (type === 'callModel') {
      const req = input.args[0] as ModelRequest;
      const tags = { blueprint: req.goal, model: req.settings.model };
      meter.createCounter(ActivityMetric.modelCalls, undefined, 'Model calls, every attempt').add(1, tags);
      try {
        const reply = (await next(input)) as ModelReply;
        const tokens = meter.createCounter(ActivityMetric.tokens, undefined, 'Model tokens used');
        tokens.add(reply.usage.inputTokens, { ...tags, direction: 'input' });
        tokens.add(reply.usage.outputTokens, { ...tags, direction: 'output' });
        if (req.settings.price) {
          // Cached input at its own rate, as the activity priced it.
          const usd = costOfReply(reply.usage, req.settings.price);
          meter.createHistogram(ActivityMetric.cost, 'float', 'usd', 'Cost of model calls in USD').record(usd, tags);
        }
        return reply;
      } catch (err) {
        meter
          .createCounter(ActivityMetric.modelErrors, undefined, 'Model calls that failed, by failure type')
          .add(1, { ...tags, error_type: errorType(err) });
        throw err;
      } finally {
        stepDuration.record(elapsed(), { blueprint: req.goal, agent: req.agent, kind: 'model' });
      }
    }
    const req = input.args[0] as ToolRequest;
    const tags = { blueprint: req.goal, tool: req.tool };
    meter.createCounter(ActivityMetric.toolCalls, undefined, 'Tool calls, every attempt').add(1, tags);
    let outcome = 'ok';
    try {
      return await next(input);
    } catch (err) {
      outcome = 'error';
      meter
        .createCounter(ActivityMetric.toolErrors, undefined, 'Tool calls that failed, by failure type')
        .add(1, { ...tags, error_type: errorType(err) });
      throw err;
    } finally {
      const seconds = elapsed();
      meter.createHistogram(ActivityMetric.toolDuration, 'float', 'seconds', 'Tool call duration').record(seconds, {
        ...tags,
        outcome,
      });
      stepDuration.record(seconds, { blueprint: req.goal, agent: req.agent, kind: 'tool' });
    }
  }
}

/** The activity interceptor factory that records Baton's activity-side metrics. */
export function activityMetrics(ctx: Context): ActivityInterceptors {
  return { inbound: new ActivityMetricsInterceptor(ctx) };
}
