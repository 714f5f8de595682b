/**
 * OpenTelemetry tracing through `@temporalio/interceptors-opentelemetry`, on only when OTEL_EXPORTER_OTLP_ENDPOINT is
 * set. Spans go over OTLP/HTTP to that endpoint (the exporter also honours OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and
 * OTEL_EXPORTER_OTLP_HEADERS); a goal's trace runs from `baton start` through the workflow to each activity.
 */
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkerInterceptors, WorkerOptions } from '@temporalio/worker';

/** Tracing as a worker wires it in. */
export interface WorkerTracing {
  interceptors: Pick<WorkerInterceptors, 'activity'>;
  sinks: NonNullable<WorkerOptions['sinks']>;
  /** Flushes and stops the exporter. */
  shutdown(): Promise<void>;
}

async function startProvider(serviceName: string) {
  const [{ OTLPTraceExporter }, { Resource }, { BatchSpanProcessor }, { NodeTracerProvider }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  const resource = new Resource({ 'service.name': serviceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 1_000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Registers the W3C trace-context propagator and the async context manager the interceptors rely on.
  provider.register();
  return { provider, resource, spanProcessor, tracer: provider.getTracer('baton') };
}

/** Starts tracing for a worker. */
export async function startWorkerTracing(serviceName: string): Promise<WorkerTracing> {
  const { provider, resource, spanProcessor, tracer } = await startProvider(serviceName);
  const otel = await import('@temporalio/interceptors-opentelemetry');
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
          outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: otel.makeWorkflowExporter(spanProcessor, resource) },
    shutdown: () => provider.shutdown(),
  };
}

let clientTracing: Promise<WorkflowClientInterceptor[]> | undefined;

/**
 * Client interceptors for the CLI: with OTEL_EXPORTER_OTLP_ENDPOINT set, starting or signalling a goal opens a span
 * whose context travels to the worker; spans are flushed when the command's work is done.
 */
export function clientTracingInterceptors(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<WorkflowClientInterceptor[]> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return Promise.resolve([]);
  clientTracing ??= (async () => {
    const { provider, tracer } = await startProvider(env.OTEL_SERVICE_NAME || 'baton-cli');
    const otel = await import('@temporalio/interceptors-opentelemetry');
    flushClient = () => provider.shutdown();
    return [new otel.OpenTelemetryWorkflowClientInterceptor({ tracer })];
  })();
  return clientTracing;
}

let flushClient: (() => Promise<void>) | undefined;

/**
 * Sends the CLI's spans, if tracing started: the CLI calls it before it exits, because `process.exit` skips
 * `beforeExit` and would drop them.
 */
export async function flushClientTracing(): Promise<void> {
  const flush = flushClient;
  flushClient = undefined;
  clientTracing = undefined;
  await flush?.();
}
