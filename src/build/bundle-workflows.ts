/**
 * Build step: prebundles the workflow code, with its interceptor modules, so workers start without bundling:
 * dist/workflow-bundle.js, and dist/workflow-bundle-otel.js with OpenTelemetry's workflow interceptors for tracing.
 */
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundlePath, workflowInterceptorModules } from '../worker.js';

const dist = fileURLToPath(new URL('../', import.meta.url));
for (const tracing of [false, true]) {
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(dist, 'workflows', 'index.js'),
    workflowInterceptorModules: workflowInterceptorModules(tracing),
    logger: { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error },
  });
  await writeFile(bundlePath(tracing), code);
  process.stderr.write(
    `[baton] workflow bundle: dist/${basename(bundlePath(tracing))} (${Math.round(code.length / 1024)} KiB)\n`,
  );
}
