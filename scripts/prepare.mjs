#!/usr/bin/env node
// npm's `prepare`: builds dist/ unless it is already newer than every source file, so that an install (or an npx
// that links this folder) never rebuilds dist/ needlessly under a running `baton dev`. `--force` always builds.
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
if (!process.argv.includes('--force') && existsSync(stamp) && statSync(stamp).mtimeMs >= sourceTime) {
  process.stderr.write('[baton] dist/ is up to date; not rebuilding (npm run build forces it)\n');
} else {
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
