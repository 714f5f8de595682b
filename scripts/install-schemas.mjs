#!/usr/bin/env node
// Installs the Kubernetes JSON schemas the deploy tests validate deploy/ against: the strict schemas published in the
// PyPI wheel kubernetes-validate (pinned by version and hash), for the oldest and newest Kubernetes versions Baton
// supports, into .tools/schemas/kubernetes/<version>/_definitions.json. Needs python3 with pip; runs once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadWheel, findPython } from './pypi.mjs';

const WHEEL = {
  name: 'kubernetes-validate',
  version: '1.37.0',
  sha256: '85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9',
};
export const KUBERNETES_VERSIONS = ['v1.27.0', 'v1.37.0'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.tools', 'schemas', 'kubernetes');
const stampFile = join(target, 'versions.json');
const stamp = JSON.stringify({ ...WHEEL, kubernetes: KUBERNETES_VERSIONS });

if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) process.exit(0);

const python = findPython();
if (!python) {
  process.stderr.write('[baton] cannot install the Kubernetes schemas: no python3 with pip on PATH\n');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'baton-schemas-'));
try {
  process.stderr.write(
    `[baton] installing Kubernetes schemas from ${WHEEL.name}==${WHEEL.version} into .tools/schemas/\n`,
  );
  downloadWheel(python, WHEEL, work);
  const extract = [
    'import sys, zipfile, glob, os',
    'z = zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0])',
    'for version in sys.argv[3:]:',
    '    out = os.path.join(sys.argv[2], version)',
    '    os.makedirs(out, exist_ok=True)',
    '    data = z.read("kubernetes_validate/kubernetes-json-schema/" + version + "-local-strict/_definitions.json")',
    '    open(os.path.join(out, "_definitions.json"), "wb").write(data)',
  ].join('\n');
  mkdirSync(target, { recursive: true });
  execFileSync(python, ['-c', extract, work, target, ...KUBERNETES_VERSIONS], { stdio: 'inherit' });
  writeFileSync(stampFile, stamp);
} finally {
  rmSync(work, { recursive: true, force: true });
}
