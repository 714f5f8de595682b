/**
 * `baton worker` as a process: configuration checked at start, JSON logs, the runtime's Prometheus exporter, the
 * /metrics, /healthz and /readyz endpoint, optional tracing, and a graceful shutdown on SIGTERM or SIGINT: the worker
 * stops polling, reports not ready, lets in-flight activities finish within BATON_SHUTDOWN_GRACE_TIME, then exits.
 */
import { configuredDataConverter, isEncrypting } from './codec/data-converter.js';
import { Runtime, type Logger, type Worker } from '@temporalio/worker';
import { resolveModel } from './client/model-endpoint.js';
import { loadWorkerConfig } from './config.js';
import { demoBackOfficeAccess, loadToolAccess } from './tool-access-config.js';
import { mergeAccess, noAccess } from './activities/index.js';
import { WorkerHealth } from './observability/health.js';
import { startObservabilityServer, type ObservabilityServer } from './observability/http.js';
import { createLogger } from './observability/log.js';
import { histogramBuckets } from './observability/metrics.js';
import { startWorkerTracing, type WorkerTracing } from './observability/tracing.js';
import { createTrustStore } from './trust/load.js';
import { connectWorker, createBatonWorker, workflowSource } from './worker.js';
import { freePort } from './runtime/free-port.js';
import { deploymentOptions } from './versioning.js';

/** Extra time after the grace period for cancelled activities to wind down before the worker gives up. */
const FORCE_AFTER_GRACE_MS = 10_000;

/** Options of `baton worker`. */
export interface RunWorkerOptions {
  /** Use the scripted offline model when no OPENAI_* is set. */
  scripted: boolean;
  env?: Readonly<Record<string, string | undefined>>;
}

/** Runs a worker until a signal stops it; resolves once it has drained and everything it started is closed. */
export async function runWorker(opts: RunWorkerOptions): Promise<void> {
  const env = opts.env ?? process.env;
  const config = loadWorkerConfig(env);
  const access = loadToolAccess(env);
  const logger: Logger = createLogger(config.log);
  const runtimeMetricsPort = config.http ? await freePort() : undefined;
  Runtime.install({
    logger,
    // The worker handles signals itself, so it can report not ready before it drains.
    shutdownSignals: [],
    telemetryOptions: {
      logging: { forward: {}, filter: { core: config.log.level === 'debug' ? 'INFO' : 'WARN', other: 'ERROR' } },
      ...(runtimeMetricsPort === undefined
        ? {}
        : {
            metrics: {
              prometheus: {
                bindAddress: `127.0.0.1:${runtimeMetricsPort}`,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
                histogramBucketOverrides: histogramBuckets,
              },
            },
          }),
    },
  });

  const health = new WorkerHealth();
  let worker: Worker | undefined;
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) {
      logger.warn('second signal while draining: exiting now', { signal });
      process.exit(1);
    }
    stopRequested = true;
    health.markStopping();
    logger.info('shutdown requested: not ready, no new tasks, draining in-flight work', {
      signal,
      shutdownGraceTime: config.shutdownGraceTime,
    });
    worker?.shutdown();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let server: ObservabilityServer | undefined;
  let tracing: WorkerTracing | undefined;
  let closeModel: (() => Promise<void>) | undefined;
  try {
    if (config.http && runtimeMetricsPort !== undefined) {
      server = await startObservabilityServer({
        ...config.http,
        health,
        runtimeMetricsUrl: `http://127.0.0.1:${runtimeMetricsPort}/metrics`,
      });
      logger.info('serving /metrics, /healthz and /readyz', { url: server.url });
    }
    if (config.otlpEndpoint) {
      tracing = await startWorkerTracing(config.serviceName);
      logger.info('tracing to OTLP endpoint', { endpoint: config.otlpEndpoint, serviceName: config.serviceName });
    }
    const model = await resolveModel(config, { allowScripted: opts.scripted, demoApi: opts.scripted });
    closeModel = model.scripted ? () => model.scripted!.close() : undefined;
    const trust = createTrustStore(
      {
        ...(config.trustFile ? { trustFile: config.trustFile } : {}),
        ...(config.blueprintsDir ? { blueprintsDir: config.blueprintsDir } : {}),
        allowAdHocBlueprints: config.allowAdHocBlueprints,
      },
      (err) => {
        logger.error('trust configuration reload failed; keeping the last good one', { error: err.message });
      },
    );
    if (!config.trustFile) logger.warn('BATON_TRUST_FILE is not set: no decision can be verified, so none is accepted');
    if (config.allowAdHocBlueprints) {
      logger.warn('BATON_ALLOW_ADHOC_BLUEPRINTS=true: unregistered blueprints may run; never do this in production');
    }
    const connection = await connectWorker(config);
    const dataConverter = configuredDataConverter(config);
    const workflowCode = workflowSource(env, {
      tracing: tracing !== undefined,
      encrypted: isEncrypting(dataConverter),
    });
    const versioning = config.deployment ? deploymentOptions(config.deployment, workflowCode) : undefined;
    try {
      worker = await createBatonWorker({
        connection,
        namespace: config.namespace,
        taskQueue: config.taskQueue,
        model: model.endpoint,
        access: mergeAccess(
          access,
          model.env.BATON_DEMO_API ? demoBackOfficeAccess(model.env.BATON_DEMO_API) : noAccess,
        ),
        workflowCode,
        ...(dataConverter ? { dataConverter } : {}),
        trust,
        shutdownGraceTime: config.shutdownGraceTime,
        blobDir: config.blobs.dir,
        blobRetention: { maxAgeMs: config.blobs.maxAgeMs, maxBytes: config.blobs.maxBytes },
        shutdownForceTime: `${config.shutdownGraceMs + FORCE_AFTER_GRACE_MS}ms`,
        ...(tracing ? { interceptors: tracing.interceptors, sinks: tracing.sinks } : {}),
        ...(versioning ? { workerDeploymentOptions: versioning } : {}),
      });
      health.attach(worker, connection);
      if (stopRequested) worker.shutdown();
      logger.info('worker polling', {
        taskQueue: config.taskQueue,
        address: config.address,
        namespace: config.namespace,
        workflowCode: 'workflowBundle' in workflowCode ? workflowCode.workflowBundle.codePath : 'bundled at start',
        deploymentVersion: versioning
          ? `${versioning.version.deploymentName}.${versioning.version.buildId} (${versioning.defaultVersioningBehavior})`
          : 'unversioned',
      });
      await worker.run();
      logger.info('worker drained and stopped', { taskQueue: config.taskQueue });
    } finally {
      await connection.close();
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await closeModel?.();
    await tracing?.shutdown();
    await server?.close();
  }
}
