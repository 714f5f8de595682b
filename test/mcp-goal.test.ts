/**
 * MCP tools as governed Baton tools, end to end: a real Temporal dev server, the scripted model (a test stand-in,
 * not a model), and real MCP servers from npm: server-filesystem over stdio and server-everything over Streamable
 * HTTP (behind a loopback proxy that records what the server received). An allowed tool runs; an unlisted tool is
 * refused and recorded; a destructive tool waits for approval; both servers restart mid-goal and the goal goes on;
 * a changed tool list under a waiting goal does not break its replay; the header secret never reaches history.
 */
import { signedDecide } from './helpers/identity.js';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpConnections } from '../src/activities/mcp/connections.js';
import { IDEMPOTENCY_META_KEY } from '../src/activities/mcp/index.js';
import { auditGoal, AuditKind } from '../src/audit/index.js';
import { goalState } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { decodedHistoryText } from './helpers/decoded-history.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { everythingStdio, filesystemStdio, startEverythingHttp, type HttpMcpServer } from './helpers/mcp-servers.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/recording-proxy.js';
import { startDevServer } from './helpers/servers.js';

const TOKEN = 'mcp-token-7c1e94d2a5b8';

let env: TestWorkflowEnvironment;
let h: Harness;
let http: HttpMcpServer;
let proxy: RecordingProxy;
let root: string;
const pool = new McpConnections();
/** The worker's settings and secrets; the changed-list test swaps the filesystem server for another. */
const settings: Record<string, string> = {};

const research = (): string => `apiVersion: baton/v1
name: mcp-research
models: { default: { model: scripted } }
agents:
  researcher:
    role: researcher
    instructions: Use the MCP tools.
    tools: [everything, files]
entry: researcher
approvers: { ops: [alice] }
mcp:
  everything:
    url: '\${env:MCP_EVERYTHING_URL}'
    headers: { Authorization: 'Bearer \${secret:MCP_TOKEN}' }
    secrets: [MCP_TOKEN]
    tools:
      echo: {}
      get-sum: { sideEffect: none }
  files:
    command: '\${env:MCP_NODE}'
    args: ['\${env:MCP_FS_SERVER}', '\${env:MCP_FS_ARG}']
    tools:
      read_text_file: {}
      list_directory: {}
      write_file: { approval: { approvers: [group:ops] } }
`;

const pinnedGoal = (): string => `apiVersion: baton/v1
name: mcp-pinned
models: { default: { model: scripted } }
agents:
  researcher: { role: researcher, instructions: Write the file., tools: [files] }
entry: researcher
approvers: { ops: [alice] }
mcp:
  files:
    command: '\${env:MCP_NODE}'
    args: ['\${env:MCP_FS_SERVER}', '\${env:MCP_FS_ARG}']
    tools:
      write_file: { approval: { approvers: [group:ops] } }
`;

const cancelGoal = (): string => `apiVersion: baton/v1
name: mcp-cancel
models: { default: { model: scripted } }
agents:
  researcher: { role: researcher, instructions: Wait for it., tools: [everything] }
entry: researcher
mcp:
  everything:
    url: '\${env:MCP_EVERYTHING_URL}'
    headers: { Authorization: 'Bearer \${secret:MCP_TOKEN}' }
    secrets: [MCP_TOKEN]
    tools:
      trigger-long-running-operation: { sideEffect: none, timeout: 5m }
`;

const timeoutGoal = (): string => `apiVersion: baton/v1
name: mcp-timeout
models: { default: { model: scripted } }
agents:
  researcher: { role: researcher, instructions: Try once., tools: [everything] }
entry: researcher
mcp:
  everything:
    url: '\${env:MCP_EVERYTHING_URL}'
    headers: { Authorization: 'Bearer \${secret:MCP_TOKEN}' }
    secrets: [MCP_TOKEN]
    tools:
      trigger-long-running-operation: { sideEffect: unsafe, timeout: 2s }
`;

function scripts(dir: string): ScriptInput[] {
  return [
    {
      goal: 'mcp-timeout',
      replies: [
        { when: { tool: 'everything_trigger-long-running-operation' }, content: 'It took too long.' },
        {
          when: { after: 'user' },
          toolCalls: [{ name: 'everything_trigger-long-running-operation', arguments: { duration: 60, steps: 2 } }],
        },
      ],
    },
    {
      goal: 'mcp-cancel',
      replies: [
        {
          when: { after: 'user' },
          toolCalls: [{ name: 'everything_trigger-long-running-operation', arguments: { duration: 120, steps: 2 } }],
        },
      ],
    },
    {
      goal: 'mcp-research',
      replies: [
        { when: { tool: 'everything_echo', contains: 'after restarts' }, content: 'Done: the file is written.' },
        {
          when: { tool: 'files_write_file' },
          toolCalls: [{ name: 'everything_echo', arguments: { message: 'after restarts' } }],
        },
        {
          when: { tool: 'files_move_file' },
          toolCalls: [
            { name: 'files_write_file', arguments: { path: join(dir, 'out.txt'), content: 'written by baton' } },
          ],
        },
        {
          when: { tool: 'files_list_directory' },
          toolCalls: [
            {
              name: 'files_move_file',
              arguments: { source: join(dir, 'seed.txt'), destination: join(dir, 'moved.txt') },
            },
          ],
        },
        {
          when: { after: 'user' },
          toolCalls: [
            { name: 'everything_echo', arguments: { message: 'hello mcp' } },
            { name: 'files_list_directory', arguments: { path: dir } },
          ],
        },
      ],
    },
    {
      goal: 'mcp-pinned',
      replies: [
        { when: { tool: 'files_write_file' }, content: 'The server changed; the file was not written.' },
        {
          when: { after: 'user' },
          toolCalls: [{ name: 'files_write_file', arguments: { path: join(dir, 'pinned.txt'), content: 'x' } }],
        },
      ],
    },
  ];
}

/** Approves as main does at this time: the `decide` update with the approver's name (one place to change). */
async function approve(goalId: string, approvalId: string): Promise<void> {
  await signedDecide(h.client, goalId, { approvalId, decision: 'approve', by: 'alice' });
}

async function awaitingApproval(goalId: string) {
  return eventually(async () => {
    const s = await goalState(h.client, goalId);
    return s.status === 'awaiting_approval' ? s : undefined;
  }, `goal ${goalId} to await approval`);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-mcp-'));
  await writeFile(join(root, 'seed.txt'), 'seed');
  env = await startDevServer();
  http = await startEverythingHttp();
  proxy = await startRecordingProxy(http.url);
  const fs = filesystemStdio(root);
  Object.assign(settings, {
    MCP_EVERYTHING_URL: proxy.url,
    MCP_TOKEN: TOKEN,
    MCP_NODE: fs.command,
    MCP_FS_SERVER: fs.args[0]!,
    MCP_FS_ARG: root,
  });
  h = await createHarness(env, { scripts: scripts(root), extraEnv: settings, mcp: pool });
});

afterAll(async () => {
  await h?.close();
  await pool.close();
  await proxy?.close();
  await http?.stop();
  await env?.teardown();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('an MCP goal', () => {
  it('runs allowed tools, refuses unlisted ones, waits for approval, and survives server restarts', async () => {
    const handle = await h.start(blueprint(research()), {});
    const waiting = await awaitingApproval(handle.workflowId);
    expect(waiting.pendingApprovals[0]).toMatchObject({ tool: 'files_write_file' });
    expect(existsSync(join(root, 'out.txt'))).toBe(false);

    // Both servers go away under the waiting goal and come back as new processes.
    const stdio = await pool.peek('mcp-research/files');
    const firstPid = stdio?.pid;
    expect(firstPid).toBeGreaterThan(0);
    process.kill(firstPid!, 'SIGKILL');
    await eventually(() => (stdio?.closed ? true : undefined), 'the pool to see the stdio server exit');
    await http.restart();

    await approve(handle.workflowId, waiting.pendingApprovals[0]!.id);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(await readFile(join(root, 'out.txt'), 'utf8')).toBe('written by baton');
    expect((await pool.peek('mcp-research/files'))?.pid).not.toBe(firstPid);

    // The unlisted tool was never offered, refused at dispatch and recorded; the file it names did not move.
    const state = await goalState(h.client, handle.workflowId);
    expect(state.refusals).toContainEqual(expect.objectContaining({ tool: 'files_move_file', kind: 'not_permitted' }));
    expect(existsSync(join(root, 'seed.txt'))).toBe(true);
    const offered = h.model.requests.filter((r) => r.goal === 'mcp-research').flatMap((r) => r.tools);
    expect(offered).toContain('files_write_file');
    expect(offered).not.toContain('files_move_file');

    // The server received the secret header and the goal's idempotency key in _meta.
    const calls = proxy.seen.filter((r) => r.body.includes('"tools/call"'));
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    const meta = (JSON.parse(calls[0]!.body) as { params: { _meta: Record<string, string> } }).params._meta;
    expect(meta[IDEMPOTENCY_META_KEY]).toMatch(
      new RegExp(`^${handle.workflowId}/tool-\\d+-everything_echo@[0-9a-f-]+$`),
    );

    // The audit names the server, the tool and the pinned schema hash; summaries read `researcher: mcp echo ...`.
    const audit = await auditGoal(h.client, handle.workflowId);
    const echo = audit.entries.find((e) => e.kind === AuditKind.ToolCall && e.data.tool === 'everything_echo');
    expect(echo?.data.mcp).toMatchObject({ source: 'everything', tool: 'echo', server: '${env:MCP_EVERYTHING_URL}' });
    expect((echo?.data.mcp as { schemaHash: string }).schemaHash).toMatch(/^[0-9a-f]{64}$/);
    const write = audit.entries.find((e) => e.kind === AuditKind.ToolCall && e.data.tool === 'files_write_file');
    expect(write?.data).toMatchObject({ approvalId: waiting.pendingApprovals[0]!.id, sideEffect: 'unsafe' });
    const discovery = audit.entries.find(
      (e) => e.kind === AuditKind.Activity && e.data.activityType === 'discoverMcpTools',
    );
    expect(JSON.stringify(discovery?.data.result)).toContain('"name":"write_file"');
    const history = await handle.fetchHistory();
    const summaries = (history.events ?? []).flatMap((e) =>
      e.userMetadata?.summary?.data ? [Buffer.from(e.userMetadata.summary.data).toString('utf8')] : [],
    );
    expect(summaries.join('\n')).toContain('researcher: mcp echo {message: \\"hello mcp\\"}');
  });

  it('keeps the header secret out of history (a planted copy is found)', async () => {
    const planted = await h.start(blueprint(research()), { note: `planted ${TOKEN}` });
    await planted.terminate('only planted');
    expect(await decodedHistoryText(h.client, planted.workflowId)).toContain(TOKEN);

    const ids: string[] = [];
    for await (const wf of h.client.workflow.list({ query: `WorkflowType = 'goalWorkflow'` })) ids.push(wf.workflowId);
    const goals = ids.filter((id) => id !== planted.workflowId);
    expect(goals.length).toBeGreaterThan(0);
    for (const id of goals) expect(await decodedHistoryText(h.client, id)).not.toContain(TOKEN);
  });

  it('keeps the pinned tools when the server changes under a waiting goal, and replays', async () => {
    const handle = await h.start(blueprint(pinnedGoal()), {});
    const waiting = await awaitingApproval(handle.workflowId);

    // The operator points the worker at another server: server-everything, which has no write_file.
    await h.stopWorker();
    const other = everythingStdio();
    Object.assign(settings, { MCP_FS_SERVER: other.args[0]!, MCP_FS_ARG: 'stdio' });
    await h.startWorker({ maxCachedWorkflows: 0 });
    await approve(handle.workflowId, waiting.pendingApprovals[0]!.id);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(existsSync(join(root, 'pinned.txt'))).toBe(false);

    const history = await handle.fetchHistory();
    const failedTasks = (history.events ?? []).filter(
      (e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    );
    expect(failedTasks).toEqual([]);
    const told = h.model.requests.filter((r) => r.goal === 'mcp-pinned').at(-1)?.facts.lastContent;
    expect(String(told)).toContain('no longer lists tool write_file');
    expect(String(told)).toContain('the call was not sent');
  });

  it('forwards the cancellation of a goal to the server', async () => {
    const handle = await h.start(blueprint(cancelGoal()), {});
    await eventually(
      () => (proxy.seen.some((r) => r.body.includes('trigger-long-running-operation')) ? true : undefined),
      'the long call to reach the server',
    );
    expect(proxy.seen.some((r) => r.body.includes('notifications/cancelled'))).toBe(false);
    await handle.cancel();
    const cancelled = await eventually(
      () => proxy.seen.find((r) => r.body.includes('notifications/cancelled')),
      'the server to be told of the cancellation',
      60_000,
    );
    expect(cancelled.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect((await goalState(h.client, handle.workflowId)).status).toBe('cancelled');
  });

  it('abandons a call at its timeout, tells the model, and runs an unsafe tool once', async () => {
    const before = proxy.seen.filter((r) => r.body.includes('"duration":60')).length;
    const handle = await h.start(blueprint(timeoutGoal()), {});
    const result = await handle.result();
    expect(result.status).toBe('completed');
    const told = h.model.requests.filter((r) => r.goal === 'mcp-timeout').at(-1)?.facts.lastContent;
    expect(told).toContain('no answer within 2s');
    expect(proxy.seen.filter((r) => r.body.includes('"duration":60')).length - before).toBe(1);
  });
});
