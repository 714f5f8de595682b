/**
 * MCP governance over Streamable HTTP with a destructive tool: the real server-filesystem from npm, offered over
 * Streamable HTTP by the SDK's own server transport (it speaks only stdio), on a real Temporal dev server with the
 * scripted model (a test stand-in, not a model). An unlisted tool is refused and recorded and never reaches the
 * server; the destructive write_file waits for approval and runs only once approved; when the URL comes to point at
 * another server (server-everything, without write_file) under a waiting goal, the goal replays and keeps its pinned
 * tools; a goal that continues as new keeps its pinned tools without listing them again. (mcp-goal.test.ts covers
 * restarts, secrets in headers, cancellation and timeouts over HTTP.)
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpConnections } from '../src/activities/mcp/connections.js';
import { goalState } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import type { GoalArgs } from '../src/workflows/definitions.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import {
  filesystemStdio,
  startEverythingHttp,
  startStdioOverHttp,
  type BridgedMcpServer,
  type HttpMcpServer,
} from './helpers/mcp-servers.js';
import { runsOf } from './helpers/history.js';
import { signedDecide } from './helpers/identity.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/recording-proxy.js';
import { startDevServer } from './helpers/servers.js';

let env: TestWorkflowEnvironment;
let h: Harness;
let files: BridgedMcpServer;
let everything: HttpMcpServer;
let proxy: RecordingProxy;
let root: string;
const pool = new McpConnections();
/** The worker's settings: the pinned-list test points MCP_FILES_URL at another server. */
const settings: Record<string, string> = {};

const goal = (name: string): string => `apiVersion: baton/v1
name: ${name}
models: { default: { model: scripted } }
agents:
  researcher: { role: researcher, instructions: Write the file., tools: [files] }
entry: researcher
approvers: { ops: [alice] }
mcp:
  files:
    url: '\${env:MCP_FILES_URL}'
    tools:
      list_directory: {}
      write_file: { approval: { approvers: [group:ops] } }
`;

const ECHOES = 12;
const tick = (i: number): string => `tick ${String(i).padStart(2, '0')}`;

const longGoal = `apiVersion: baton/v1
name: mcp-http-long
models: { default: { model: scripted } }
agents:
  researcher: { role: researcher, instructions: Echo until done., tools: [everything] }
entry: researcher
mcp:
  everything:
    url: '\${env:MCP_EVERYTHING_URL}'
    tools: { echo: {} }
limits: { stepsPerRun: 10 }
`;

function scripts(dir: string): ScriptInput[] {
  const write = (file: string) => ({
    name: 'files_write_file',
    arguments: { path: join(dir, file), content: 'written over http' },
  });
  return [
    {
      goal: 'mcp-http-write',
      replies: [
        { when: { tool: 'files_write_file' }, content: 'Done.' },
        { when: { tool: 'files_list_directory' }, toolCalls: [write('http.txt')] },
        { when: { tool: 'files_move_file' }, toolCalls: [{ name: 'files_list_directory', arguments: { path: dir } }] },
        {
          when: { after: 'user' },
          toolCalls: [
            { name: 'files_move_file', arguments: { source: join(dir, 'seed.txt'), destination: join(dir, 'x.txt') } },
          ],
        },
      ],
    },
    {
      goal: 'mcp-http-long',
      replies: [
        { when: { contains: `Echo: ${tick(ECHOES)}` }, content: `Echoed ${ECHOES} times.` },
        ...Array.from({ length: ECHOES - 1 }, (_, i) => ({
          when: { contains: `Echo: ${tick(i + 1)}` },
          toolCalls: [{ name: 'everything_echo', arguments: { message: tick(i + 2) } }],
        })),
        { when: { after: 'user' }, toolCalls: [{ name: 'everything_echo', arguments: { message: tick(1) } }] },
      ],
    },
    {
      goal: 'mcp-http-pinned',
      replies: [
        { when: { tool: 'files_write_file' }, content: 'The server changed; nothing was written.' },
        { when: { after: 'user' }, toolCalls: [write('pinned.txt')] },
      ],
    },
  ];
}

/** Approves as alice, with a signed assertion through the `decide` update. */
async function approve(goalId: string, approvalId: string): Promise<void> {
  await signedDecide(h.client, goalId, { approvalId, decision: 'approve', by: 'alice' });
}

async function awaitingApproval(goalId: string) {
  return eventually(async () => {
    const s = await goalState(h.client, goalId);
    return s.status === 'awaiting_approval' ? s : undefined;
  }, `goal ${goalId} to await approval`);
}

const toolCalls = (name: string): number =>
  proxy.seen.filter((r) => r.body.includes('"tools/call"') && r.body.includes(`"name":"${name}"`)).length;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-mcp-http-'));
  await writeFile(join(root, 'seed.txt'), 'seed');
  env = await startDevServer();
  files = await startStdioOverHttp(filesystemStdio(root));
  everything = await startEverythingHttp();
  proxy = await startRecordingProxy(files.url);
  settings.MCP_FILES_URL = proxy.url;
  settings.MCP_EVERYTHING_URL = everything.url;
  h = await createHarness(env, { scripts: scripts(root), extraEnv: settings, mcp: pool });
});

afterAll(async () => {
  await h?.close();
  await pool.close();
  await proxy?.close();
  await files?.stop();
  await everything?.stop();
  await env?.teardown();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('an MCP goal over Streamable HTTP', () => {
  it('refuses an unlisted tool before the server sees it, and runs a destructive one only once approved', async () => {
    const handle = await h.start(blueprint(goal('mcp-http-write')), {});
    const waiting = await awaitingApproval(handle.workflowId);
    expect(waiting.pendingApprovals[0]).toMatchObject({ tool: 'files_write_file' });
    expect(waiting.refusals).toContainEqual(
      expect.objectContaining({ tool: 'files_move_file', kind: 'not_permitted' }),
    );
    expect(toolCalls('list_directory')).toBe(1);
    expect(toolCalls('move_file')).toBe(0);
    expect(toolCalls('write_file')).toBe(0);
    expect(existsSync(join(root, 'http.txt'))).toBe(false);

    await approve(handle.workflowId, waiting.pendingApprovals[0]!.id);
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    expect(toolCalls('write_file')).toBe(1);
    expect(await readFile(join(root, 'http.txt'), 'utf8')).toBe('written over http');
    expect(existsSync(join(root, 'seed.txt'))).toBe(true);
    const offered = h.model.requests.filter((r) => r.goal === 'mcp-http-write').flatMap((r) => r.tools);
    expect(offered).toContain('files_write_file');
    expect(offered).not.toContain('files_move_file');
  });

  it('keeps the pinned tools when the URL comes to point at another server under a waiting goal, and replays', async () => {
    const handle = await h.start(blueprint(goal('mcp-http-pinned')), {});
    const waiting = await awaitingApproval(handle.workflowId);

    await h.stopWorker();
    settings.MCP_FILES_URL = everything.url;
    await h.startWorker({ maxCachedWorkflows: 0 });
    await approve(handle.workflowId, waiting.pendingApprovals[0]!.id);
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    expect(existsSync(join(root, 'pinned.txt'))).toBe(false);

    const history = await handle.fetchHistory();
    const failedTasks = (history.events ?? []).filter(
      (e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    );
    expect(failedTasks).toEqual([]);
    const told = h.model.requests.filter((r) => r.goal === 'mcp-http-pinned').at(-1)?.facts.lastContent;
    expect(String(told)).toContain('no longer lists tool write_file');
    expect(String(told)).toContain('the call was not sent');
  });

  it('keeps its pinned tools across continue-as-new: listed once, called in every run', async () => {
    const handle = await h.start(blueprint(longGoal), {});
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: `Echoed ${ECHOES} times.` });
    const runs = await runsOf(h.client, handle.workflowId);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    const activities = runs.map((run) =>
      run.events.flatMap((e) => {
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
        const id = e.activityTaskScheduledEventAttributes?.activityId ?? '';
        return type ? [`${type}${type === 'runTool' && id.includes('everything_echo') ? ':echo' : ''}`] : [];
      }),
    );
    // Discovery ran in the first run only; every run after it called the tool it pinned.
    expect(activities.flat().filter((a) => a === 'discoverMcpTools')).toHaveLength(1);
    expect(activities[0]).toContain('discoverMcpTools');
    for (const later of activities.slice(1)) {
      expect(later).not.toContain('discoverMcpTools');
      expect(later).toContain('runTool:echo');
    }
    expect(activities.flat().filter((a) => a === 'runTool:echo')).toHaveLength(ECHOES);
    const input = runs[1]!.events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const carried = (JSON.parse(Buffer.from(input!).toString('utf8')) as GoalArgs).carried;
    expect(carried?.mcp?.everything?.tools.map((t) => t.name)).toEqual(['echo']);
    expect(carried?.mcp?.everything?.tools[0]?.schemaHash).toMatch(/^[0-9a-f]{64}$/);
  });
});
