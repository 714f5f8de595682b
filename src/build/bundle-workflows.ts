/** Build step: prebundles the workflow code into dist/workflow-bundle.js so workers start without bundling. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const dist = fileURLToPath(new URL('../', import.meta.url));
const { code } = await bundleWorkflowCode({ workflowsPath: join(dist, 'workflows', 'index.js') });
await writeFile(join(dist, 'workflow-bundle.js'), code);
process.stderr.write(`[baton] workflow bundle: dist/workflow-bundle.js (${Math.round(code.length / 1024)} KiB)\n`);
