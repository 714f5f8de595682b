#!/usr/bin/env node
// Links the project's own `baton` command into node_modules/.bin, so that `npx baton` in a clone runs bin/baton.js at
// once. Without the link npx does not find `baton` locally, installs this folder into its cache as a package and
// runs `prepare` (a full build, rewriting dist/ under a running `baton dev`) before answering: 40-70 s of silence.
// Runs as part of npm's postinstall; `npm run check-npx` (test/npx.test.ts) checks the result.
import { lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
const link = join(binDir, 'baton');
const target = join('..', '..', 'bin', 'baton.js');

let current;
try {
  current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : 'not a link';
} catch {
  current = undefined;
}
if (current !== target) {
  mkdirSync(binDir, { recursive: true });
  rmSync(link, { force: true });
  symlinkSync(target, link);
}
