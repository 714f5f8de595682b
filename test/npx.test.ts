/**
 * The first `npx baton ...` in a clone answers at once. npm's npx installs a project whose own bin is asked for into
 * its cache and runs the project's `prepare` first; `prepare` (scripts/prepare.mjs) does not rebuild a dist/ that is
 * newer than the sources, and under npx never rebuilds one that exists (it would rewrite dist/ under a running
 * `baton dev`).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A folder shaped like the project, with the given scripts copied in. */
function project(scripts: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-npx-test-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'scripts'));
  for (const s of scripts) cpSync(join('scripts', s), join(dir, 'scripts', s));
  return dir;
}

describe('npx baton in a clone', () => {
  it('answers without rebuilding dist/ (npx installs the folder into its cache and runs `prepare`)', async () => {
    const before = statSync('dist/client/cli.js').mtimeMs;
    // An empty npx cache, as on a fresh clone: npx installs this folder there and runs its `prepare`.
    const cache = mkdtempSync(join(tmpdir(), 'baton-npx-cache-'));
    dirs.push(cache);
    const r = await run('npx', ['--no', '--', 'baton', '--help'], {
      env: { ...process.env, npm_config_offline: 'true', npm_config_cache: cache },
    });
    expect(r.stdout).toMatch(/^Usage: baton \[options\] \[command\]/);
    expect(statSync('dist/client/cli.js').mtimeMs).toBe(before);
  });

  it('`prepare` skips the build while dist/ is newer than the sources, and builds once a source changes', async () => {
    const dir = project(['prepare.mjs']);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ scripts: { build: "node -e \"require('fs').writeFileSync('built', 'yes')\"" } }),
    );
    writeFileSync(join(dir, 'tsconfig.build.json'), '{}');
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'a.ts'), '');
    mkdirSync(join(dir, 'dist', 'client'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'client', 'cli.js'), '');
    const old = new Date(Date.now() - 60_000);
    for (const f of ['package.json', 'tsconfig.build.json', 'src/a.ts']) utimesSync(join(dir, f), old, old);
    const prepare = (env: Record<string, string> = {}) =>
      run(process.execPath, [join(dir, 'scripts', 'prepare.mjs')], { cwd: dir, env: { ...process.env, ...env } });

    const fresh = await prepare({ npm_command: 'install' });
    expect(fresh.stderr).toContain('dist/ is up to date; not rebuilding');
    expect(existsSync(join(dir, 'built'))).toBe(false);

    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'src', 'a.ts'), later, later);
    const underNpx = await prepare({ npm_command: 'exec' });
    expect(underNpx.stderr).toContain('dist/ is older than src/; run `npm run build`');
    expect(existsSync(join(dir, 'built'))).toBe(false);

    await prepare({ npm_command: 'install' });
    expect(existsSync(join(dir, 'built'))).toBe(true);
  });
});
