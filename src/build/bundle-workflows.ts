/** Build step: prebundles the workflow code so workers start without bundling: plain, and for encrypted payloads. */
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const dist = fileURLToPath(new URL('../', import.meta.url));
const src = fileURLToPath(new URL('../../src/', import.meta.url));
await copyFile(join(src, 'codec', 'failure-converter.cjs'), join(dist, 'codec', 'failure-converter.cjs'));
const workflowsPath = join(dist, 'workflows', 'index.js');
const variants = [
  { file: 'workflow-bundle.js', options: {} },
  {
    file: 'workflow-bundle.encrypted.js',
    options: { failureConverterPath: join(dist, 'codec', 'failure-converter.cjs') },
  },
];
for (const { file, options } of variants) {
  const { code } = await bundleWorkflowCode({ workflowsPath, ...options });
  await writeFile(join(dist, file), code);
  process.stderr.write(`[baton] workflow bundle: dist/${file} (${Math.round(code.length / 1024)} KiB)\n`);
}
