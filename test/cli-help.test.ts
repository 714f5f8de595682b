/**
 * `baton --help` and every `baton <command> --help` show an example, and every example works: each one is run as
 * written (through bash, from a folder holding the example goals), with a real goal id in place of the example's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlueprint, type LoadedBlueprint } from '../src/blueprint/load.js';
import { goalState } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { baton } from './helpers/cli.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { freePort, startDevServer } from './helpers/servers.js';

const EXAMPLE_ID = 'refund-request-1a2b3c4d';
const QUESTION_EXAMPLE_ID = 'security-alert-1a2b3c4d';
const DESIGN_COMMANDS = [
  'dev',
  'worker',
  'validate',
  'start',
  'list',
  'status',
  'approvals',
  'approve',
  'reject',
  'audit',
  'cancel',
];
const bin = resolve('bin/baton.js');

let env: TestWorkflowEnvironment;
let h: Harness;
let refund: LoadedBlueprint;
let cwd: string;
let vars: Record<string, string>;
let finished: string;

beforeAll(async () => {
  env = await startDevServer();
  const scripts = await Promise.all(
    ['refund-request', 'security-alert'].map(
      async (name) => parse(await readFile(`goals/${name}.script.yaml`, 'utf8')) as ScriptInput,
    ),
  );
  h = await createHarness(env, { scripts });
  refund = await loadBlueprint('goals/refund-request.yaml');
  cwd = mkdtempSync(join(tmpdir(), 'baton-help-test-'));
  symlinkSync(resolve('goals'), join(cwd, 'goals'));
  vars = { TEMPORAL_ADDRESS: env.address, BATON_TASK_QUEUE: h.taskQueue, BATON_USER: 'alice' };
  const handle = await waitingGoal();
  await handle.signal('approval', { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
  await handle.result();
  finished = handle.workflowId;
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

async function waitingGoal() {
  const handle = await h.start(refund, { customerId: 'c-42', amount: 120 });
  await eventually(async () => {
    const s = await goalState(env.client, handle.workflowId);
    return s.status === 'awaiting_approval' ? s : undefined;
  }, 'a goal waiting for approval');
  return handle;
}

interface Run {
  code: number | null;
  output: string;
}

/** Runs one example line with bash in the example folder; `until` ends a long-running command once it is up. */
function runExample(line: string, opts: { until?: RegExp; extraEnv?: Record<string, string> } = {}): Promise<Run> {
  const command = line.replace(/\bnpx baton\b/g, `'${process.execPath}' '${bin}'`);
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', `exec env ${command}`], {
      cwd,
      env: { ...process.env, ...vars, ...opts.extraEnv, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stopping = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const seen = (d: Buffer): void => {
      output += d.toString();
      if (opts.until && !stopping && opts.until.test(output)) {
        stopping = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.once('error', fail);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

async function help(args: string[]): Promise<string> {
  const r = await baton([...args, '--help']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

function exampleLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('  $ '))
    .map((l) => l.slice(4).trim());
}

async function commands(): Promise<string[]> {
  const text = await help([]);
  const section = text.slice(text.indexOf('Commands:'), text.indexOf('Examples:'));
  return section
    .split('\n')
    .slice(1)
    .map((l) => /^ {2}([a-z][a-z-]*)\b/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined && c !== 'help');
}

/** Runs one example as a user would, with a goal id that makes sense for the command. */
async function tryExample(line: string): Promise<void> {
  const command = /npx baton ([\w-]+)/.exec(line)?.[1] ?? '';
  let text = line;
  if (text.includes(QUESTION_EXAMPLE_ID)) {
    const handle = await h.start(await loadBlueprint('goals/security-alert.yaml'), {});
    await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingQuestions.length ? s : undefined;
    }, 'a goal waiting for an answer');
    text = text.replaceAll(QUESTION_EXAMPLE_ID, handle.workflowId);
  }
  if (text.includes(EXAMPLE_ID)) {
    const id = ['approve', 'reject', 'cancel'].includes(command) ? (await waitingGoal()).workflowId : finished;
    text = text.replaceAll(EXAMPLE_ID, id);
  }
  let run: Run;
  if (command === 'dev') {
    const [port, uiPort] = [await freePort(), await freePort()];
    const data = join(cwd, `.baton-${port}`);
    run = await runExample(`${text} --port ${port} --ui-port ${uiPort} --data ${data}`, {
      until: text.includes('--start') ? /started goal refund-request-/ : /Baton dev stack is up/,
      extraEnv: { OPENAI_API_KEY: '', OPENAI_BASE_URL: '', BATON_TASK_QUEUE: `help-dev-${port}` },
    });
  } else if (command === 'worker') {
    run = await runExample(text, {
      until: /worker polling/,
      extraEnv: { BATON_TASK_QUEUE: `help-worker-${Date.now()}` },
    });
  } else if (command === 'codec-server') {
    const port = await freePort();
    run = await runExample(text.replace('--port 8081', `--port ${port}`), {
      until: /codec server on http/,
      extraEnv: { BATON_ENCRYPTION_KEYS: `k1=${Buffer.alloc(32, 7).toString('base64')}` },
    });
  } else if (command === 'start' && text.includes('--wait')) {
    const id = /--id (\S+)/.exec(text)?.[1] ?? '';
    const running = runExample(text);
    await eventually(async () => {
      const s = await goalState(env.client, id);
      return s.status === 'awaiting_approval' ? s : undefined;
    }, `${id} to wait for approval`);
    await env.client.workflow
      .getHandle(id)
      .signal('approval', { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
    run = await running;
    expect(run.output).toContain(`${id}: completed: Refunded 120 USD`);
  } else {
    run = await runExample(text);
  }
  expect(run.code, `\`${text}\` exited ${String(run.code)}:\n${run.output}`).toBe(0);
}

describe('help', () => {
  it('`baton --help` and every `baton <command> --help` show examples, and every example works', async () => {
    const listed = await commands();
    for (const c of [...DESIGN_COMMANDS, 'watch', 'schema']) expect(listed).toContain(c);
    const top = exampleLines(await help([]));
    expect(top.length).toBeGreaterThanOrEqual(3);
    const lines = new Set(top);
    for (const c of listed) {
      const text = await help([c]);
      expect(text, `baton ${c} --help`).toContain('--json');
      expect(text, `baton ${c} --help`).toMatch(/\nExamples?:\n/);
      const own = exampleLines(text);
      expect(own.length, `examples of baton ${c}`).toBeGreaterThan(0);
      for (const line of own) {
        expect(line).toMatch(new RegExp(`npx baton ${c}(?![\\w-])`));
        lines.add(line);
      }
    }
    // In order: an export is written before the example that verifies it.
    for (const line of lines) await tryExample(line);
  });
});
