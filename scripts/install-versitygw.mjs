#!/usr/bin/env node
// Builds versitygw (Apache-2.0), an S3-compatible server over a local directory, from its Go module at the pinned
// version into .tools/versitygw/. The payload store's S3 driver is tested against it on loopback
// (test/payload-s3.test.ts), never against an in-process fake. Cached: a second run with the same pin does nothing.
// Needs the Go toolchain and the Go module proxy; the first build takes about 100 s on two idle cores.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSITYGW_MODULE = 'github.com/versity/versitygw';
const VERSITYGW_VERSION = '1.8.0';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.tools', 'versitygw');
const stampFile = join(target, 'version.json');
const executable = join(target, 'versitygw');

function log(message) {
  process.stderr.write(`[baton] ${message}\n`);
}

function installed() {
  if (!existsSync(stampFile) || !existsSync(executable)) return false;
  return JSON.parse(readFileSync(stampFile, 'utf8')).version === VERSITYGW_VERSION;
}

if (installed()) {
  if (!process.argv.includes('--quiet')) log(`versitygw ${VERSITYGW_VERSION} already in .tools/versitygw/`);
  process.exit(0);
}

try {
  execFileSync('go', ['version'], { stdio: 'ignore' });
} catch {
  log('Cannot build versitygw: no Go toolchain on PATH (https://go.dev/dl/, or apt-get install golang).');
  process.exit(1);
}

const started = Date.now();
const bin = join(target, 'bin.partial');
rmSync(bin, { recursive: true, force: true });
mkdirSync(bin, { recursive: true });
log(`building ${VERSITYGW_MODULE}/cmd/versitygw@v${VERSITYGW_VERSION} (about 100 s the first time)`);
execFileSync('go', ['install', `${VERSITYGW_MODULE}/cmd/versitygw@v${VERSITYGW_VERSION}`], {
  cwd: root,
  env: { ...process.env, GOBIN: bin, GOFLAGS: '-buildvcs=false', GO111MODULE: 'on' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
renameSync(join(bin, 'versitygw'), executable);
rmSync(bin, { recursive: true, force: true });
const seconds = Math.round((Date.now() - started) / 1000);
writeFileSync(stampFile, JSON.stringify({ version: VERSITYGW_VERSION, builtInSeconds: seconds }, null, 2) + '\n');
log(`versitygw ${VERSITYGW_VERSION} built in ${seconds} s into .tools/versitygw/`);
