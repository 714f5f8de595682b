/**
 * Bundles the workflow code once per test run; every suite's workers load that bundle instead of re-bundling. Its
 * directory is also the run's scratch space (`testScratchDir`), removed when the run ends.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { workflowPreloadModules } from '../../src/runtime/workflow-preload.js';

export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-test-bundle-'));
  const workflowsPath = new URL('../../src/workflows/index.ts', import.meta.url).pathname;
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    preloadModules: workflowPreloadModules(workflowsPath),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const codePath = join(dir, 'workflow-bundle.js');
  writeFileSync(codePath, code);
  project.provide('workflowBundlePath', codePath);
  project.provide('testScratchDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    workflowBundlePath: string;
    /** A directory for files a test process writes once (its trust file), removed at the end of the run. */
    testScratchDir: string;
  }
}
