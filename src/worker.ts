/**
 * The Baton worker: polls the goal task queue and runs goal workflows and their activities. Used by `baton worker`
 * (through src/worker-main.ts), by `baton dev` in-process, and by the tests.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, type WorkerInterceptors, type WorkerOptions } from '@temporalio/worker';
import OpenAI from 'openai';
import { accessFromValues, createActivities, type BuiltinTool, type ToolAccess } from './activities/index.js';
import { McpConnections } from './activities/mcp/connections.js';
import { directoryBlobStore, type BlobRetention } from './activities/mcp/blobs.js';
import type { BatonConfig } from './config.js';
import { isEncrypting } from './codec/data-converter.js';
import { conversationStoreFrom } from './codec/conversation-store.js';
import type { TrustStore } from './trust/load.js';
import { connectionOptions } from './connection.js';
import { activityMetrics } from './observability/metrics.js';
import { projectRoot } from './runtime/temporal-binaries.js';
import { workflowPreloadModules } from './runtime/workflow-preload.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const ext = extname(fileURLToPath(import.meta.url));

/** What a prebuilt workflow bundle contains beyond the workflows. */
export interface BundleVariant {
  /** OpenTelemetry's workflow interceptors. */
  tracing: boolean;
  /** The failure converter that moves messages into (encrypted) payloads. */
  encrypted: boolean;
}

/** Every variant `npm run build` prebundles. */
export const bundleVariants: BundleVariant[] = [false, true].flatMap((tracing) =>
  [false, true].map((encrypted) => ({ tracing, encrypted })),
);

/** Where a workflow bundle variant is built to. */
export function bundlePath(v: BundleVariant): string {
  return join(projectRoot, 'dist', `workflow-bundle${v.tracing ? '-otel' : ''}${v.encrypted ? '.encrypted' : ''}.js`);
}

/**
 * Workflow interceptor modules: Baton's goal metrics always, OpenTelemetry's when tracing. They must be compiled into
 * a bundle (bundle-workflows.ts does so at build time), since a worker given a bundle ignores any others.
 */
export function workflowInterceptorModules(tracing: boolean): string[] {
  const modules = [join(here, 'workflows', `interceptors${ext}`)];
  if (tracing) {
    modules.push(
      createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
    );
  }
  return modules;
}

/** The workflow code a worker loads. */
export type WorkflowCode =
  { workflowBundle: { codePath: string } } | { workflowsPath: string; interceptorModules?: string[] };

/**
 * Source of the workflow code: BATON_WORKFLOW_BUNDLE, else the prebuilt bundle (when running from dist/ and it is
 * there), else the workflows module, bundled at start with the interceptor modules.
 */
export function workflowSource(
  env: Readonly<Record<string, string | undefined>> = process.env,
  opts: { tracing?: boolean; encrypted?: boolean } = {},
): WorkflowCode {
  const tracing = opts.tracing ?? false;
  if (env.BATON_WORKFLOW_BUNDLE) return { workflowBundle: { codePath: env.BATON_WORKFLOW_BUNDLE } };
  const bundle = bundlePath({ tracing, encrypted: opts.encrypted ?? false });
  if (ext === '.js' && existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  return {
    workflowsPath: join(here, 'workflows', `index${ext}`),
    interceptorModules: workflowInterceptorModules(tracing),
  };
}

/** The model endpoint a worker talks to. */
export interface ModelEndpoint {
  baseURL?: string;
  apiKey?: string;
  /** Per-request timeout of a model call; default 240 s. */
  timeoutMs?: number;
}

export interface BatonWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  model: ModelEndpoint;
  /** What tools and webhooks may read and reach: the operator's map (config.ts loadToolAccess). */
  access?: ToolAccess;
  /**
   * For tests and embedding, instead of `access`: explicit values, each readable as `${env:NAME}` and (declared) as
   * `${secret:NAME}`, URL hosts among them reachable. Never pass process.env here.
   */
  env?: Readonly<Record<string, string | undefined>>;
  builtins?: Readonly<Record<string, BuiltinTool>>;
  workflowCode?: WorkflowCode;
  /** Payload encryption (see src/codec/); must match the clients'. */
  dataConverter?: DataConverter;
  /** Sticky cache size; small values bound memory when many goals wait. */
  maxCachedWorkflows?: number;
  /** How long in-flight activities may finish after shutdown is requested before they are cancelled; default 10s. */
  shutdownGraceTime?: string;
  /** When a shutdown that has not finished gives up and fails the worker; default never. */
  shutdownForceTime?: string;
  /** Extra interceptors and sinks (tracing). */
  interceptors?: Pick<WorkerInterceptors, 'activity'>;
  sinks?: WorkerOptions['sinks'];
  /** Worker Versioning: the Worker Deployment version this worker registers (src/versioning.ts). */
  workerDeploymentOptions?: WorkerOptions['workerDeploymentOptions'];
  /** MCP connections (one per source and server); default: a pool of the worker's own, closed when it stops. */
  mcp?: McpConnections;
  /** Where images, audio and binary resources from MCP tools are kept; default BATON_BLOB_DIR or .baton/blobs. */
  blobDir?: string;
  /** How long and how much of them is kept; default 7 days and 1 GiB (`baton worker`: BATON_BLOB_RETENTION, _MAX_BYTES). */
  blobRetention?: Partial<BlobRetention>;
  /** The operator's trust that workflows verify decisions against (src/trust/load.ts); absent: nobody is trusted. */
  trust?: TrustStore;
}

/** Builds a worker with Baton's workflows and activities. */
export async function createBatonWorker(options: BatonWorkerOptions): Promise<Worker> {
  if (options.env === process.env) {
    // The whole environment as tool values is the hole issue 13 closed: every variable readable by any blueprint.
    throw new Error('createBatonWorker: pass access: loadToolAccess(process.env), not env: process.env');
  }
  const openai = new OpenAI({
    apiKey: options.model.apiKey ?? 'not-needed',
    ...(options.model.baseURL ? { baseURL: options.model.baseURL } : {}),
    // Temporal retries model calls; the SDK's own retries would hide attempts from the history.
    maxRetries: 0,
    timeout: options.model.timeoutMs ?? 240_000,
  });
  const code = options.workflowCode ?? workflowSource(process.env, { encrypted: isEncrypting(options.dataConverter) });
  const conversation = conversationStoreFrom(options.dataConverter);
  const workflowModules = 'workflowsPath' in code ? code.interceptorModules : undefined;
  const ownMcp = options.mcp === undefined;
  const mcp = options.mcp ?? new McpConnections();
  const blobs = directoryBlobStore(
    options.blobDir ?? process.env.BATON_BLOB_DIR ?? '.baton/blobs',
    options.blobRetention,
  );
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...('workflowBundle' in code
      ? { workflowBundle: code.workflowBundle }
      : {
          workflowsPath: code.workflowsPath,
          bundlerOptions: { preloadModules: workflowPreloadModules(code.workflowsPath) },
        }),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    activities: createActivities({
      openai,
      access: options.access ?? accessFromValues(options.env ?? {}),
      builtins: options.builtins ?? {},
      mcp,
      blobs,
      ...(conversation ? { conversation } : {}),
      ...(options.trust ? { trust: () => options.trust!.snapshot() } : {}),
    }),
    interceptors: {
      activity: [activityMetrics, ...(options.interceptors?.activity ?? [])],
      ...(workflowModules ? { workflowModules } : {}),
    },
    ...(options.sinks ? { sinks: options.sinks } : {}),
    ...(options.workerDeploymentOptions ? { workerDeploymentOptions: options.workerDeploymentOptions } : {}),
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
    shutdownGraceTime: options.shutdownGraceTime ?? '10s',
    // A streaming model call's heartbeats carry its progress, which `baton status` and `watch` show: sent at most
    // every 2 s instead of the SDK's 80% of the heartbeat timeout (24 s for a model call).
    maxHeartbeatThrottleInterval: '2s',
    ...(options.shutdownForceTime ? { shutdownForceTime: options.shutdownForceTime } : {}),
  });
  // The blob store is swept while the worker runs (retention holds even when no tool stores anything); the worker's
  // own MCP servers (stdio processes, HTTP sessions) end with it.
  const run = worker.run.bind(worker);
  worker.run = async () => {
    const stopSweeping = blobs.startSweeping((err) => {
      Runtime.instance().logger.warn('the MCP blob store could not be swept', { dir: blobs.dir, error: String(err) });
    });
    try {
      await run();
    } finally {
      stopSweeping();
      if (ownMcp) await mcp.close();
    }
  };
  return worker;
}

/** Connects the worker's native connection from settings. */
export async function connectWorker(config: BatonConfig): Promise<NativeConnection> {
  const opts = connectionOptions(config);
  try {
    return await NativeConnection.connect(opts);
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${config.address} (${(err as Error).message.split('\n')[0]}): start one with \`baton dev\`, or set TEMPORAL_ADDRESS`,
      { cause: err },
    );
  }
}
