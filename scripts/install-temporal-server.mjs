#!/usr/bin/env node
// Builds the self-hosted Temporal server (`temporal-server`) and its schema tool (`temporal-sql-tool`) from the Go
// module at the version temporal/binaries.json pins (the same version docker-compose.yml runs), into
// .tools/temporal-server/, and copies the module's PostgreSQL schema files beside them. Cached: a second run with the
// same pin does nothing. Needs the Go toolchain and the Go module proxy; the first build takes about 8 to 15 minutes
// on two cores (1.8 GB of modules, 2 GB of build cache). Used by temporal/cluster/start.sh and `npm run test:cluster`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pin = JSON.parse(readFileSync(join(root, 'temporal', 'binaries.json'), 'utf8')).server;
const target = join(root, '.tools', 'temporal-server');
const stampFile = join(target, 'version.json');
const executables = ['temporal-server', 'temporal-sql-tool'];

function log(message) {
  process.stderr.write(`[baton] ${message}\n`);
}

function installed() {
  if (!existsSync(stampFile)) return false;
  const have = JSON.parse(readFileSync(stampFile, 'utf8'));
  return (
    have.version === pin.version &&
    executables.every((e) => existsSync(join(target, e))) &&
    existsSync(join(target, 'schema', 'postgresql'))
  );
}

if (installed()) {
  if (!process.argv.includes('--quiet')) log(`Temporal server ${pin.version} already in .tools/temporal-server/`);
  process.exit(0);
}

function go(args, env = {}) {
  return execFileSync('go', args, {
    cwd: root,
    env: { ...process.env, GOFLAGS: '-buildvcs=false', GO111MODULE: 'on', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
}

try {
  go(['version']);
} catch {
  log('Cannot build the Temporal server: no Go toolchain on PATH (https://go.dev/dl/, or apt-get install golang).');
  process.exit(1);
}

const started = Date.now();
const bin = join(target, 'bin.partial');
rmSync(bin, { recursive: true, force: true });
mkdirSync(bin, { recursive: true });
for (const pkg of pin.packages) {
  log(`building ${pin.module}/${pkg}@v${pin.version} (cached after the first time; minutes on two cores)`);
  go(['install', `${pin.module}/${pkg}@v${pin.version}`], { GOBIN: bin });
}
// `go install` names binaries after their folders (server, sql); give them the names Temporal's images use.
renameSync(join(bin, 'server'), join(target, 'temporal-server'));
renameSync(join(bin, 'sql'), join(target, 'temporal-sql-tool'));
rmSync(bin, { recursive: true, force: true });

// The schema files ship in the module; temporal/setup-schema.sh reads them from SCHEMA_DIR.
const moduleDir = go(['mod', 'download', '-json', `${pin.module}@v${pin.version}`]);
const { Dir } = JSON.parse(moduleDir);
rmSync(join(target, 'schema'), { recursive: true, force: true });
cpSync(join(Dir, 'schema', 'postgresql'), join(target, 'schema', 'postgresql'), { recursive: true });
execFileSync('chmod', ['-R', 'u+w', join(target, 'schema')]);

writeFileSync(
  stampFile,
  JSON.stringify({ version: pin.version, builtInSeconds: Math.round((Date.now() - started) / 1000) }, null, 2) + '\n',
);
log(
  `Temporal server ${pin.version} built in ${Math.round((Date.now() - started) / 1000)} s into .tools/temporal-server/`,
);
