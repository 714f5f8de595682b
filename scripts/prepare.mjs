#!/usr/bin/env node
// npm's `prepare`: builds dist/ unless it is already newer than every source file. `npx baton` in a clone installs
// this folder into npx's cache and runs `prepare` before answering (npm does so for a project whose own bin is
// asked for): a full build there took 40-70 s and rewrote dist/ under a running `baton dev`. So under npx
// (npm_command=exec) it never rebuilds a dist/ that exists, it only says when dist/ is older than the sources.
// `--force` always builds. test/npx.test.ts checks this.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newest(dir) {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

const stamp = join(root, 'dist', 'client', 'cli.js');
const inputs = [join(root, 'src'), join(root, 'package.json'), join(root, 'tsconfig.build.json')];
const sourceTime = Math.max(...inputs.map((p) => (statSync(p).isDirectory() ? newest(p) : statSync(p).mtimeMs)));
const force = process.argv.includes('--force');
if (!force && existsSync(stamp) && statSync(stamp).mtimeMs >= sourceTime) {
  process.stderr.write('[baton] dist/ is up to date; not rebuilding (npm run build forces it)\n');
} else if (!force && existsSync(stamp) && process.env.npm_command === 'exec') {
  process.stderr.write('[baton] dist/ is older than src/; run `npm run build` to use your changes\n');
} else {
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
