/** The `baton` executable's entry point: runs the command tree in program.ts and exits with its code. */
import { runCli } from './program.js';

process.exit(await runCli(process.argv));
