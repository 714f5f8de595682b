// Runs the TypeScript file named by the first argument, the way the bench's worker and peer processes start.
//
// Why not `node --import tsx`: tsx turns on Node's source-map support, and `--import` is inherited by every worker
// thread, the SDK's workflow threads included. With it on, Node scans each compiled function for a source-map comment
// and maps every stack trace it formats, and Temporal's workflow sandbox compiles a function and formats a stack for
// each promise a workflow creates. `baton worker` runs plain `node` without it (as would a LangGraph service), so the
// bench did not measure what users run. Here tsx is registered for this thread only and source maps are turned off.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/ts-entry.mjs FILE.ts');
register();
process.setSourceMapsEnabled(false);
await import(pathToFileURL(file).href);
