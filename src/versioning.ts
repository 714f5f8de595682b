/**
 * Worker Versioning (docs/versioning.md): which Worker Deployment version a worker registers. The build id defaults to
 * a hash of the workflow bundle it runs, so two workers with the same workflow code are the same version and any
 * change to the code is a new one; without a prebuilt bundle it is the package version.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import type { WorkerDeploymentSettings } from './config.js';
import type { WorkflowCode } from './worker.js';

/** The build id of some workflow code: `bundle-<12 hex of its sha256>`, or `package-<version>` when bundled at start. */
export function defaultBuildId(code: WorkflowCode): string {
  if ('workflowBundle' in code) {
    const hash = createHash('sha256').update(readFileSync(code.workflowBundle.codePath)).digest('hex');
    return `bundle-${hash.slice(0, 12)}`;
  }
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
  return `package-${pkg.version}`;
}

/** The SDK's deployment options for a worker running `code` under `settings`. */
export function deploymentOptions(settings: WorkerDeploymentSettings, code: WorkflowCode): WorkerDeploymentOptions {
  return {
    version: { deploymentName: settings.name, buildId: settings.buildId ?? defaultBuildId(code) },
    useWorkerVersioning: true,
    defaultVersioningBehavior: settings.behavior,
  };
}
