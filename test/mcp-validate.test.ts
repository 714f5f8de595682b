/**
 * `baton validate --connect`: the blueprint's MCP servers asked for their tools (the real server-filesystem over
 * stdio and server-everything over Streamable HTTP, with the worker's settings from the environment), and what each
 * server marks the selected tools checked against the blueprint: a destructive tool without an approval policy, a
 * sideEffect that contradicts the server, a selection that matches nothing, an unreachable server. The checks
 * themselves (pure) are also run on listings made by hand, for what the npm servers do not have (unmarked tools).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBlueprint } from '../src/blueprint/load.js';
import { mcpToolFindings } from '../src/blueprint/mcp-checks.js';
import type { PinnedMcp } from '../src/blueprint/mcp.js';
import { baton } from './helpers/cli.js';
import { filesystemStdio, startEverythingHttp, type HttpMcpServer } from './helpers/mcp-servers.js';

let dir: string;
let http: HttpMcpServer;
let file: string;
let settings: Record<string, string>;

const blueprintText = `apiVersion: baton/v1
name: mcp-validate
models: { default: { model: m } }
agents:
  researcher: { role: researcher, instructions: Look things up., tools: [files, everything] }
entry: researcher
approvers: { ops: [alice] }
mcp:
  files:
    command: '\${env:MCP_NODE}'
    args: ['\${env:MCP_FS_SERVER}', '\${env:MCP_FS_DIR}']
    tools:
      'read_*': {}
      write_file: {}
      'move_*': { sideEffect: none, approval: { approvers: [group:ops] } }
      edit_file: { approval: { approvers: [group:ops] } }
      delete_file: { sideEffect: none }
  everything:
    url: '\${env:MCP_URL}'
    tools:
      echo: {}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-validate-mcp-'));
  http = await startEverythingHttp();
  file = join(dir, 'mcp.yaml');
  await writeFile(file, blueprintText);
  const fs = filesystemStdio(dir);
  settings = {
    BATON_TOOL_ENV: 'MCP_NODE,MCP_FS_SERVER,MCP_FS_DIR,MCP_URL',
    MCP_NODE: fs.command,
    MCP_FS_SERVER: fs.args[0]!,
    MCP_FS_DIR: dir,
    MCP_URL: http.url,
    BATON_EGRESS_ALLOW: `everything=127.0.0.1:${http.port}`,
  };
});

afterAll(async () => {
  await http?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('baton validate --connect', () => {
  it("reads what each server marks its tools and warns where the blueprint's policy falls short", async () => {
    const r = await baton(['validate', '--connect', file], settings);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${file}: ok`);
    const warnings = lines.slice(1);
    expect(warnings).toContain(
      `${file}: warning: mcp.files.tools.write_file: agent researcher gets files_write_file, which the server marks destructive (destructiveHint), with no approval policy: it runs without anyone approving it; add approval: { approvers: [...] } to mcp.files.tools.write_file`,
    );
    expect(warnings).toContain(
      `${file}: warning: mcp.files.tools.move_*: the blueprint declares sideEffect none for move_file, which the server marks destructive (destructiveHint): it is retried after a failure; remove sideEffect (unsafe: one attempt) unless a retry cannot do harm`,
    );
    const unmatched = warnings.find((w) => w.includes('mcp.files.tools.delete_file'));
    expect(unmatched).toMatch(/selects delete_file, but the server lists no tool by that name; it lists .*move_file/);
    // Read-only tools (read_* of files, echo of everything) and the approved edit_file draw no warning.
    expect(warnings.map((w) => /warning: (\S+):/.exec(w)?.[1]).sort()).toEqual([
      'mcp.files.tools.delete_file',
      'mcp.files.tools.move_*',
      'mcp.files.tools.write_file',
    ]);

    const strict = await baton(['validate', '--connect', '--strict', file], settings);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe(r.stdout);
  });

  it('without --connect, warns about every selection it cannot judge', async () => {
    const r = await baton(['validate', file], settings);
    expect(r.code).toBe(0);
    const warned = r.stdout
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((w) => /warning: (\S+):/.exec(w)?.[1]);
    expect(warned).toEqual(['mcp.files.tools.read_*', 'mcp.files.tools.write_file', 'mcp.everything.tools.echo']);
  });

  it('fails with the problem and the fix when a server cannot be reached as the worker would reach it', async () => {
    const denied = await baton(['validate', '--connect', '--json', file], { ...settings, BATON_EGRESS_ALLOW: '' });
    expect(denied.code).toBe(1);
    const [result] = JSON.parse(denied.stdout) as {
      ok: boolean;
      problems: { line: number; path: string; message: string }[];
      warnings: string[];
    }[];
    expect(result?.ok).toBe(false);
    expect(result?.problems).toHaveLength(1);
    expect(result?.problems[0]).toMatchObject({ line: 19, path: 'mcp.everything' });
    expect(result?.problems[0]?.message).toMatch(
      /^could not list the server's tools: mcp source everything \(\$\{env:MCP_URL\}\): 127\.0\.0\.1:\d+ is a loopback, private or link-local address; allow the host for this source in BATON_EGRESS_ALLOW if that is intended\. Run --connect where the worker runs/,
    );
    // The source that could not be listed keeps the warning from the blueprint alone; the other is judged.
    expect(
      result?.warnings.some((w) => w.startsWith('mcp.everything.tools.echo: agent researcher gets MCP tool echo')),
    ).toBe(true);
    expect(
      result?.warnings.some((w) => w.startsWith('mcp.files.tools.write_file: agent researcher gets files_write_file')),
    ).toBe(true);

    const missing = await baton(['validate', '--connect', file], { ...settings, BATON_TOOL_ENV: 'MCP_URL' });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(
      `${file}:10:5 mcp.files: could not list the server's tools: mcp source files reads \${env:MCP_NODE}, which this worker does not offer: list MCP_NODE in BATON_TOOL_ENV`,
    );
  });
});

describe('the checks on a listing', () => {
  const bp = parseBlueprint(`apiVersion: baton/v1
name: listing
models: { default: { model: m } }
agents:
  a: { role: researcher, instructions: x, tools: [srv] }
entry: a
approvers: { ops: [alice] }
tools:
  srv_taken: { type: builtin }
mcp:
  srv:
    command: srv
    tools:
      'do_*': {}
      quiet_read: { sideEffect: none }
      quiet_write: { sideEffect: unsafe }
      approved: { approval: { approvers: [group:ops] } }
      taken: { sideEffect: none }
`).blueprint;
  const tool = (name: string, annotations?: Record<string, boolean>) => ({
    name,
    inputSchema: { type: 'object' },
    ...(annotations ? { annotations } : {}),
    schemaHash: name,
  });
  const pinned: PinnedMcp = {
    srv: {
      server: 'stdio srv',
      tools: [
        tool('do_anything'),
        tool('do_delete', { destructiveHint: true }),
        tool('do_read', { readOnlyHint: true }),
        tool('quiet_read'),
        tool('quiet_write'),
        tool('approved'),
        tool('taken', { readOnlyHint: true }),
      ],
      unselected: [],
      unmatched: [],
      discoveredAt: '2026-01-01T00:00:00Z',
    },
  };

  it('warns about unmarked tools without approval, names the entry to add under a pattern, and errors on names', () => {
    const { errors, warnings } = mcpToolFindings(bp, pinned);
    expect(errors).toEqual([
      {
        path: ['mcp', 'srv', 'tools', 'taken'],
        message: 'tool taken is not offered: the name srv_taken is taken; set a prefix',
      },
    ]);
    expect(warnings.map((w) => `${w.path.join('.')}: ${w.message}`)).toEqual([
      'mcp.srv.tools.do_*: agent a gets srv_do_anything, which the server does not mark read-only or destructive (no readOnlyHint, no destructiveHint), with no approval policy: it runs once, unapproved; add approval: { approvers: [...] } under a new entry mcp.srv.tools.do_anything (the pattern do_* selects it), or sideEffect: none if it only reads',
      'mcp.srv.tools.do_*: agent a gets srv_do_delete, which the server marks destructive (destructiveHint), with no approval policy: it runs without anyone approving it; add approval: { approvers: [...] } under a new entry mcp.srv.tools.do_delete (the pattern do_* selects it)',
      'mcp.srv.tools.quiet_write: agent a gets srv_quiet_write, which the server does not mark read-only or destructive (no readOnlyHint, no destructiveHint), with no approval policy: it runs once, unapproved; add approval: { approvers: [...] } to mcp.srv.tools.quiet_write, or sideEffect: none if it only reads',
    ]);
  });
});
