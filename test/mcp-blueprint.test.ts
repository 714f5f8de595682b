/**
 * The `mcp` field of the goal language: what it accepts, the mistakes it names (one transport, no literal secrets,
 * declared secrets, unknown sources), the validate warning for ungoverned tools, and how pinned tools are bound:
 * selection by name or pattern, side effects from the blueprint or else the server's annotations.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlueprintError, formatProblem } from '../src/blueprint/errors.js';
import { hashBlueprint, parseBlueprint } from '../src/blueprint/load.js';
import {
  matchesSelector,
  mcpBindings,
  sideEffectFromAnnotations,
  unselectedModelNames,
  type PinnedMcp,
} from '../src/blueprint/mcp.js';
import { mcpWarnings } from '../src/blueprint/mcp-checks.js';
import { baton } from './helpers/cli.js';

const head = `apiVersion: baton/v1
name: mcp-test
models: { default: { model: m } }
entry: researcher
approvers: { ops: [alice] }
`;

function problems(yaml: string): string[] {
  try {
    parseBlueprint(yaml, 'bp.yaml');
  } catch (err) {
    if (err instanceof BlueprintError) return err.problems.map(formatProblem);
    throw err;
  }
  throw new Error('expected the blueprint to be rejected');
}

const valid = `${head}agents:
  researcher: { role: researcher, instructions: Look things up., tools: [fs, web] }
mcp:
  fs:
    command: npx
    args: [-y, '@modelcontextprotocol/server-filesystem', /srv/data]
    tools:
      read_text_file: {}
      'list_*': { sideEffect: none }
      write_file: { approval: { approvers: [group:ops] } }
  web:
    url: https://mcp.example.com/mcp
    headers: { Authorization: 'Bearer \${secret:WEB_TOKEN}' }
    secrets: [WEB_TOKEN]
    prefix: ''
    tools: { fetch: { sideEffect: none, timeout: 1m } }
`;

describe('the mcp field', () => {
  it('accepts stdio and Streamable HTTP sources with defaults filled', () => {
    const { blueprint } = parseBlueprint(valid, 'bp.yaml');
    expect(blueprint.mcp?.fs).toMatchObject({ timeout: '30s', maxConcurrency: 4, maxResponseBytes: 65_536 });
    expect(blueprint.mcp?.web?.headers.Authorization).toBe('Bearer ${secret:WEB_TOKEN}');
  });

  it('leaves blueprints without MCP as they were (same hash as before the field existed)', () => {
    const plain = `${head}agents:\n  researcher: { role: researcher, instructions: x }\n`;
    const { blueprint, hash } = parseBlueprint(plain);
    expect('mcp' in blueprint).toBe(false);
    expect(hashBlueprint(blueprint)).toBe(hash);
  });

  it('names each mistake and its fix', () => {
    const bad = `${head}agents:
  researcher: { role: researcher, instructions: x, tools: [both, leaky, nothing] }
mcp:
  both: { command: npx, url: 'https://x.example/mcp', tools: { a: {} } }
  leaky:
    url: https://x.example/mcp
    headers: { Authorization: Bearer abc123, X-Key: '\${secret:KEY}' }
    tools: { '*': { approval: { approvers: [group:nobody] } } }
  nothing: { command: srv, args: ['\${secret:KEY}'], tools: {} }
`;
    const found = problems(bad).join('\n');
    expect(found).toContain('exactly one of command (stdio) or url (Streamable HTTP)');
    expect(found).toContain('literal secret in header Authorization');
    expect(found).toContain('uses ${secret:KEY} without declaring it');
    expect(found).toContain('unknown approver group "nobody"');
    expect(found).toContain('select at least one tool of the server');
    expect(found).toContain('secrets in a command line are visible to every process');
    expect(problems(`${head}agents:\n  researcher: { role: researcher, instructions: x, tools: [fs] }\n`)[0]).toContain(
      'unknown tool "fs"; define it under tools or remove it',
    );
  });

  it('warns when an agent gets MCP tools with neither sideEffect nor approval', () => {
    const { blueprint } = parseBlueprint(valid);
    const warnings = mcpWarnings(blueprint);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.path).toEqual(['mcp', 'fs', 'tools', 'read_text_file']);
    expect(warnings[0]?.message).toContain(
      'agent researcher gets MCP tool read_text_file with no sideEffect and no approval',
    );
  });
});

describe('baton validate', () => {
  it('accepts a blueprint with ungoverned MCP tools and prints the warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-validate-'));
    try {
      const file = join(dir, 'mcp.yaml');
      await writeFile(file, valid);
      const r = await baton(['validate', file]);
      expect(r.code).toBe(0);
      expect(r.stdout.trimEnd().split('\n')).toEqual([
        `${file}: ok`,
        `${file}: warning: mcp.fs.tools.read_text_file: agent researcher gets MCP tool read_text_file with no sideEffect and no approval: an unmarked or destructive tool runs once, unapproved; set sideEffect or add an approval policy (baton validate --connect reads what the server marks each tool)`,
      ]);
      const json = JSON.parse((await baton(['validate', '--json', file])).stdout) as { warnings: string[] }[];
      expect(json[0]?.warnings).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('binding pinned tools', () => {
  const pinned: PinnedMcp = {
    fs: {
      server: 'stdio npx',
      tools: [
        {
          name: 'read_text_file',
          inputSchema: { type: 'object' },
          annotations: { readOnlyHint: true },
          schemaHash: 'a',
        },
        { name: 'list_directory', inputSchema: { type: 'object' }, schemaHash: 'b' },
        {
          name: 'write_file',
          inputSchema: { type: 'object' },
          annotations: { destructiveHint: true, idempotentHint: true },
          schemaHash: 'c',
        },
      ],
      unselected: ['move_file'],
      unmatched: [],
      discoveredAt: '2026-01-01T00:00:00Z',
    },
    web: {
      server: 'https://mcp.example.com/mcp',
      tools: [{ name: 'fetch', inputSchema: { type: 'object' }, schemaHash: 'd' }],
      unselected: [],
      unmatched: [],
      discoveredAt: '2026-01-01T00:00:00Z',
    },
  };

  it('takes the blueprint first, the annotations otherwise, and unmarked tools as unsafe', () => {
    const { blueprint } = parseBlueprint(valid);
    const { bindings, problems: found } = mcpBindings(blueprint, pinned);
    expect(found).toEqual([]);
    expect(bindings.get('fs_read_text_file')).toMatchObject({ sideEffect: 'none', sideEffectFrom: 'annotations' });
    expect(bindings.get('fs_list_directory')).toMatchObject({ sideEffect: 'none', sideEffectFrom: 'blueprint' });
    expect(bindings.get('fs_write_file')).toMatchObject({
      sideEffect: 'unsafe',
      approval: { approvers: ['group:ops'] },
    });
    expect(bindings.get('fetch')).toMatchObject({ source: 'web', timeout: '1m' });
    expect(unselectedModelNames(blueprint, pinned).get('fs_move_file')).toEqual({ source: 'fs', tool: 'move_file' });
  });

  it('matches names and patterns, and reads the hints conservatively', () => {
    expect(matchesSelector('list_*', 'list_directory')).toBe(true);
    expect(matchesSelector('list_*', 'xlist_directory')).toBe(false);
    expect(matchesSelector('a.b', 'axb')).toBe(false);
    expect(sideEffectFromAnnotations(undefined)).toBe('unsafe');
    expect(sideEffectFromAnnotations({ idempotentHint: true })).toBe('unsafe');
    expect(sideEffectFromAnnotations({ idempotentHint: true, destructiveHint: false })).toBe('idempotent');
    expect(sideEffectFromAnnotations({ readOnlyHint: true })).toBe('none');
    expect(sideEffectFromAnnotations({ readOnlyHint: true, destructiveHint: true })).toBe('unsafe');
  });
});
