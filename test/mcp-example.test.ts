/**
 * The MCP example goal as `baton dev` runs it offline: goals/repo-digest.yaml with its script, the reference
 * filesystem server from npm started by the worker over stdio (npx, pinned), and the file write approved by a person.
 */
import { signedDecide } from './helpers/identity.js';
import { mkdir, readFile, rm } from 'node:fs/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlueprint } from '../src/blueprint/load.js';
import { goalState } from '../src/client/goals.js';
import { loadScript } from '../src/scripted-model/script.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';

const DIGEST = '.baton/repo-digest.md';
let env: TestWorkflowEnvironment;
let h: Harness;

beforeAll(async () => {
  await mkdir('.baton', { recursive: true });
  await rm(DIGEST, { force: true });
  env = await startDevServer();
  h = await createHarness(env, { scripts: [await loadScript('goals/scripts/repo-digest.script.yaml')] });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
  await rm(DIGEST, { force: true });
});

describe('repo-digest, the MCP example', () => {
  it('lists and reads through the filesystem server, and writes only once approved', async () => {
    const handle = await h.start(await loadBlueprint('goals/repo-digest.yaml'));
    const waiting = await eventually(async () => {
      const s = await goalState(h.client, handle.workflowId);
      return s.status === 'awaiting_approval' ? s : undefined;
    }, 'the write to await approval');
    expect(waiting.pendingApprovals[0]).toMatchObject({ tool: 'files_write_file', args: { path: `../${DIGEST}` } });
    await expect(readFile(DIGEST, 'utf8')).rejects.toThrow(/ENOENT/);

    await signedDecide(h.client, handle.workflowId, {
      approvalId: waiting.pendingApprovals[0]!.id,
      decision: 'approve',
      by: 'bob',
    });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', approvals: [{ status: 'approved', by: ['bob'] }] });
    expect(await readFile(DIGEST, 'utf8')).toContain('# Digest: approvals in the example goals');
    const read = h.model.requests.find((r) => r.facts.lastTool === 'files_read_text_file');
    expect(read?.facts.lastContent).toContain('name: refund-request');
  });
});
