/**
 * `baton --help` and every `baton <command> --help` show an example, and every example works: each one is run as
 * written, with a real goal id in place of the example's. The command tree is driven in-process (the same `runCli`
 * bin/baton.js runs), so no node starts per command and nothing here depends on how fast the machine is; only the
 * long-running commands (dev, worker, codec-server) are started as a user starts them, through bash.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlueprint, type LoadedBlueprint } from '../src/blueprint/load.js';
import { goalState } from '../src/client/goals.js';
import { buildProgram } from '../src/client/program.js';
import { EXAMPLE_ID, QUESTION_EXAMPLE_ID } from '../src/client/text.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { createHarness, eventually as eventuallyWithin, type Harness } from './helpers/harness.js';
import { startTestGateway, trustingGateway, type TestGateway } from './helpers/gateway.js';
import { signedDecide } from './helpers/identity.js';
import { batonInProcess } from './helpers/in-process.js';
import { freePort, startDevServer } from './helpers/servers.js';

/** Waits for a condition; generous (or as given), because a loaded machine may take long and that is no failure. */
const eventually = <T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 120_000,
): Promise<T> => eventuallyWithin(check, what, Math.max(timeoutMs, 120_000));

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
/** Commands that run until stopped: their examples are started as a user would, and stopped once they are up. */
const LONG_RUNNING = ['dev', 'worker', 'codec-server'];
/**
 * Commands whose examples need a person at a browser (`login`) or a real identity provider (`serve`): the browser
 * test (test/gateway-browser.test.ts) and test/cli.test.ts run them against the dev identity provider instead.
 */
const NEEDS_A_PERSON = ['login', 'serve'];
const bin = resolve('bin/baton.js');

let env: TestWorkflowEnvironment;
let h: Harness;
let refund: LoadedBlueprint;
let cwd: string;
let vars: Record<string, string>;
let finished: string;
let gw: TestGateway | undefined;
const holder: { gw?: TestGateway } = {};
/** The CLI signed in as sam, who answers the security alert's question. */
let asSam: Record<string, string>;

beforeAll(async () => {
  env = await startDevServer();
  const scripts = await Promise.all(
    ['refund-request', 'security-alert'].map(
      async (name) => parse(await readFile(`goals/scripts/${name}.script.yaml`, 'utf8')) as ScriptInput,
    ),
  );
  h = await createHarness(env, { scripts, trust: trustingGateway(holder) });
  gw = holder.gw = await startTestGateway(env, h.taskQueue);
  refund = await loadBlueprint('goals/refund-request.yaml');
  cwd = mkdtempSync(join(tmpdir(), 'baton-help-test-'));
  symlinkSync(resolve('goals'), join(cwd, 'goals'));
  vars = { TEMPORAL_ADDRESS: env.address, BATON_TASK_QUEUE: h.taskQueue, NO_COLOR: '1', ...(await gw.login('alice')) };
  asSam = { ...vars, ...(await gw.login('sam')) };
  const handle = await waitingGoal();
  await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
  await handle.result();
  finished = handle.workflowId;
});

afterAll(async () => {
  await gw?.close();
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

/** The help text of `baton` (no names) or `baton <name>`, as `--help` prints it. */
function helpOf(...names: string[]): string {
  let cmd = buildProgram();
  for (const n of names) cmd = cmd.commands.find((c) => c.name() === n) ?? expect.fail(`no command ${n}`);
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

function exampleLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('  $ '))
    .map((l) => l.slice(4).trim());
}

/** Splits an example line as bash would: quotes, `VAR=value` prefixes, a `> file` redirect, a `# comment`. */
function shellWords(line: string): { env: Record<string, string>; args: string[]; redirect?: string } {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word = (word ?? '') + ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= '';
    } else if (ch === ' ') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (ch === '#' && word === undefined) {
      break;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== undefined) words.push(word);
  const env: Record<string, string> = {};
  while (words[0] && /^[A-Z_]+=/.test(words[0])) {
    const [k, ...v] = words.shift()!.split('=');
    env[k!] = v.join('=');
  }
  expect(words.slice(0, 2), line).toEqual(['npx', 'baton']);
  const args = words.slice(2);
  const at = args.indexOf('>');
  const redirect = at >= 0 ? args[at + 1] : undefined;
  if (at >= 0) args.splice(at, 2);
  // A glob expands in its folder, as bash does.
  const expanded = args.flatMap((a) => {
    if (!a.includes('*')) return [a];
    const dir = dirname(a);
    const re = new RegExp(
      `^${a
        .slice(dir.length + 1)
        .replace(/\./g, '\\.')
        .replace(/\*/g, '.*')}$`,
    );
    return readdirSync(join(cwd, dir))
      .filter((f) => re.test(f))
      .sort()
      .map((f) => `${dir}/${f}`);
  });
  return { env, args: expanded, ...(redirect ? { redirect } : {}) };
}

/** The example with a real goal id in place of the example's, for the command it shows. */
async function withRealIds(line: string, command: string): Promise<string> {
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
  return text;
}

/** A copy of a credentials file, for an example that removes it. */
function copyCredentials(file: string): string {
  const copy = join(cwd, 'credentials-copy.json');
  copyFileSync(file, copy);
  return copy;
}

/** Runs an ordinary example in-process, in the example folder. */
async function runInProcess(line: string): Promise<void> {
  const command = /npx baton ([\w-]+)/.exec(line)?.[1] ?? '';
  const words = shellWords(await withRealIds(line, command));
  let waiting: Promise<void> | undefined;
  if (command === 'start' && words.args.includes('--wait')) {
    const id = words.args[words.args.indexOf('--id') + 1] ?? '';
    waiting = (async () => {
      await eventually(async () => {
        const s = await goalState(env.client, id);
        return s.status === 'awaiting_approval' ? s : undefined;
      }, `${id} to wait for approval`);
      // alice started it (signed in), and nobody approves their own goal: bob, also in finance, does.
      await signedDecide(env.client, id, { approvalId: 'apr-1', decision: 'approve', by: 'bob' });
    })();
  }
  // sam answers the security alert's question; `logout` signs out a copy, so later examples stay signed in.
  const person = command === 'reply' ? asSam : vars;
  const signedOut: Record<string, string> =
    command === 'logout' ? { BATON_CREDENTIALS: copyCredentials(person.BATON_CREDENTIALS ?? '') } : {};
  const r = await batonInProcess(words.args, { ...person, ...signedOut, ...words.env }, { cwd });
  await waiting;
  expect(r.code, `\`${line}\` exited ${r.code}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  if (waiting) expect(r.stdout).toMatch(/: completed: Refunded 120 USD/);
  if (words.redirect) writeFileSync(join(cwd, words.redirect), r.stdout);
}

/** Runs a long-running example through bash as written, until it says it is up; then Ctrl-C. */
function runUntilUp(
  line: string,
  up: RegExp,
  extraEnv: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const command = line.replace(/\bnpx baton\b/g, `'${process.execPath}' '${bin}'`);
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', `exec env ${command}`], {
      cwd,
      env: { ...process.env, ...vars, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stopping = false;
    const seen = (d: Buffer): void => {
      output += d.toString();
      if (!stopping && up.test(output)) {
        stopping = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.once('error', fail);
    child.once('exit', (code) => done({ code, output }));
  });
}

describe('help', () => {
  it('`baton --help` and every `baton <command> --help` show --json and working-looking examples', () => {
    const top = helpOf();
    const listed = buildProgram().commands.map((c) => c.name());
    for (const c of [...DESIGN_COMMANDS, 'watch', 'schema', 'reply', 'codec-server']) expect(listed).toContain(c);
    expect(exampleLines(top).length).toBeGreaterThanOrEqual(3);
    for (const c of listed) {
      const text = helpOf(c);
      expect(text, `baton ${c} --help`).toContain('--json');
      expect(text, `baton ${c} --help`).toMatch(/\nExamples?:\n/);
      const own = exampleLines(text);
      expect(own.length, `examples of baton ${c}`).toBeGreaterThan(0);
      for (const line of own) expect(line).toMatch(new RegExp(`npx baton ${c}(?![\\w-])`));
    }
  });

  it('`--help` through runCli exits 0 and prints the same text', async () => {
    const r = await batonInProcess(['status', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(helpOf('status'));
  });

  it('every example of an ordinary command works', async () => {
    const lines = new Set(exampleLines(helpOf()));
    for (const c of buildProgram().commands) for (const l of exampleLines(helpOf(c.name()))) lines.add(l);
    // In order: an export is written before the example that verifies it.
    for (const line of lines) {
      const command = /npx baton ([\w-]+)/.exec(line)?.[1] ?? '';
      if (!LONG_RUNNING.includes(command) && !NEEDS_A_PERSON.includes(command)) await runInProcess(line);
    }
  }, 300_000);

  it.each(LONG_RUNNING)(
    'every example of `baton %s` starts, comes up and stops on Ctrl-C',
    async (command) => {
      const lines = [...exampleLines(helpOf()), ...exampleLines(helpOf(command))].filter((l) =>
        new RegExp(`npx baton ${command}(?![\\w-])`).test(l),
      );
      for (const line of new Set(lines)) {
        let run: { code: number | null; output: string };
        if (command === 'dev') {
          const [port, uiPort] = [await freePort(), await freePort()];
          run = await runUntilUp(
            `${line} --port ${port} --ui-port ${uiPort} --data ${join(cwd, `.baton-${port}`)}`,
            line.includes('--start') ? /started goal refund-request-/ : /Baton dev stack is up/,
            {
              OPENAI_API_KEY: '',
              OPENAI_BASE_URL: '',
              BATON_TASK_QUEUE: `help-dev-${port}`,
              BATON_SERVE_PORT: String(await freePort()),
            },
          );
        } else if (command === 'worker') {
          run = await runUntilUp(line, /worker polling/, { BATON_TASK_QUEUE: `help-worker-${Date.now()}` });
        } else {
          const port = await freePort();
          run = await runUntilUp(line.replace('--port 8081', `--port ${port}`), /codec server on http/, {
            BATON_ENCRYPTION_KEYS: `k1=${Buffer.alloc(32, 7).toString('base64')}`,
          });
        }
        expect(run.code, `\`${line}\` exited ${String(run.code)}:\n${run.output}`).toBe(0);
      }
    },
    300_000,
  );
});
