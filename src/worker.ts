/**
 * The Baton worker: polls the goal task queue and runs goal workflows and their activities. Used by `baton worker`,
 * by `baton dev` in-process, and by the tests.
 */
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import OpenAI from 'openai';
import { createActivities, type BuiltinTool } from './activities/index.js';
import type { BatonConfig } from './config.js';
import { connectionOptions } from './connection.js';
import { projectRoot } from './runtime/temporal-binaries.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * Source of the workflow code: the prebuilt bundle when there is one, else the workflows module (bundled at start).
 * With encryption on, the bundle built with the encoding failure converter.
 */
export function workflowSource(
  encrypted = false,
  env: NodeJS.ProcessEnv = process.env,
): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const name = encrypted ? 'workflow-bundle.encrypted.js' : 'workflow-bundle.js';
  const bundle = env.BATON_WORKFLOW_BUNDLE ?? join(projectRoot, 'dist', name);
  if (
    env.BATON_WORKFLOW_BUNDLE !== undefined ||
    (extname(fileURLToPath(import.meta.url)) === '.js' && existsSync(bundle))
  ) {
    return { workflowBundle: { codePath: bundle } };
  }
  return { workflowsPath: join(here, 'workflows', `index${extname(fileURLToPath(import.meta.url))}`) };
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
  /** Where activities read `${secret:NAME}` and `${env:NAME}`; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  builtins?: Readonly<Record<string, BuiltinTool>>;
  workflowCode?: { workflowBundle: { codePath: string } } | { workflowsPath: string };
  /** Payload encryption (see src/codec/); must match the clients'. */
  dataConverter?: DataConverter;
  /** Sticky cache size; small values bound memory when many goals wait. */
  maxCachedWorkflows?: number;
}

/** Builds a worker with Baton's workflows and activities. */
export async function createBatonWorker(options: BatonWorkerOptions): Promise<Worker> {
  const openai = new OpenAI({
    apiKey: options.model.apiKey ?? 'not-needed',
    ...(options.model.baseURL ? { baseURL: options.model.baseURL } : {}),
    // Temporal retries model calls; the SDK's own retries would hide attempts from the history.
    maxRetries: 0,
    timeout: options.model.timeoutMs ?? 240_000,
  });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowCode ?? workflowSource(options.dataConverter !== undefined)),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    activities: createActivities({ openai, env: options.env ?? process.env, builtins: options.builtins ?? {} }),
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
    shutdownGraceTime: '10s',
  });
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
