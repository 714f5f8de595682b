#!/usr/bin/env node
// The `baton` command: runs the compiled CLI. `npm install` builds it (the prepare script); after editing the
// sources, run `npm run build`.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/client/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('baton: the CLI is not built yet; run `npm run build` in the Baton folder\n');
  process.exit(1);
}
await import(cli.href);
