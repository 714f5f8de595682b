/**
 * Build step: prebundles the workflow code, with its interceptor modules, so workers start without bundling: plain,
 * with OpenTelemetry's workflow interceptors (`-otel`), and each with the encoding failure converter (`.encrypted`).
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowPreloadModules } from '../runtime/workflow-preload.js';
import { bundlePath, bundleVariants, workflowInterceptorModules } from '../worker.js';

const dist = fileURLToPath(new URL('../', import.meta.url));
const src = fileURLToPath(new URL('../../src/', import.meta.url));
const failureConverterPath = join(dist, 'codec', 'failure-converter.cjs');
await copyFile(join(src, 'codec', 'failure-converter.cjs'), failureConverterPath);
for (const variant of bundleVariants) {
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(dist, 'workflows', 'index.js'),
    preloadModules: workflowPreloadModules(join(dist, 'workflows', 'index.js')),
    workflowInterceptorModules: workflowInterceptorModules(variant.tracing),
    ...(variant.encrypted ? { failureConverterPath } : {}),
    logger: { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error },
  });
  const file = bundlePath(variant);
  await writeFile(file, code);
  process.stderr.write(`[baton] workflow bundle: dist/${basename(file)} (${Math.round(code.length / 1024)} KiB)\n`);
}
