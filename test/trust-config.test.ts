/** The operator's trust files: validation with clear errors, registry pinning by sha256, reload on change. */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBlueprint } from '../src/blueprint/load.js';
import { loadWorkerConfig } from '../src/config.js';
import { generateSigningKey } from '../src/identity/assertion.js';
import { createTrustStore, readRegistry, readTrustFile, TrustConfigError } from '../src/trust/load.js';
import { baton } from './helpers/cli.js';

let dir: string;
const key = generateSigningKey();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-trust-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function trustYaml(extra = ''): string {
  return `issuers:\n  - issuer: https://gw.example\n    keys:\n      - kid: k1\n        publicKey: ${key.publicKey}\n${extra}groups:\n  idp-finance: [finance]\n`;
}

describe('trust file', () => {
  it('reads issuers, keys and group mapping with defaults', () => {
    writeFileSync(join(dir, 'trust.yaml'), trustYaml());
    expect(readTrustFile(join(dir, 'trust.yaml'))).toMatchObject({
      audience: 'baton',
      issuers: [{ issuer: 'https://gw.example', keys: [{ kid: 'k1', publicKey: key.publicKey }] }],
      groups: { 'idp-finance': ['finance'] },
      clockSkewSeconds: 60,
      maxLifetimeSeconds: 3600,
      refreshSeconds: 60,
    });
  });

  it('names the field and the fix for a bad key or an unknown field', () => {
    writeFileSync(join(dir, 'bad.yaml'), trustYaml().replace(key.publicKey, 'not-a-key'));
    expect(() => readTrustFile(join(dir, 'bad.yaml'))).toThrow(
      /issuers\.0\.keys\.0\.publicKey: expected an Ed25519 public key.*baton keygen/,
    );
    writeFileSync(join(dir, 'typo.yaml'), `${trustYaml()}isuers: []\n`);
    expect(() => readTrustFile(join(dir, 'typo.yaml'))).toThrow(/isuers/);
    expect(() => readTrustFile(join(dir, 'missing.yaml'))).toThrow(TrustConfigError);
  });

  it('is re-read when it changes, so a revocation reaches the workers without a restart', () => {
    const file = join(dir, 'trust.yaml');
    writeFileSync(file, trustYaml());
    const errors: string[] = [];
    const store = createTrustStore({ trustFile: file }, (e) => errors.push(e.message));
    expect(store.snapshot().issuers[0]!.keys[0]!.revoked).toBeUndefined();
    writeFileSync(file, trustYaml('        revoked: true\n'));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(store.snapshot().issuers[0]!.keys[0]!.revoked).toBe(true);
    // A broken edit keeps the last good trust and is reported.
    writeFileSync(file, 'issuers: 7\n');
    utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    expect(store.snapshot().issuers[0]!.keys[0]!.revoked).toBe(true);
    expect(errors.join()).toMatch(/issuers/);
    expect(store.snapshot().allowAdHocBlueprints).toBe(false);
  });
});

describe('blueprint registry', () => {
  it('registers blueprints pinned by sha256 and refuses a file that changed', async () => {
    copyFileSync('goals/refund-request.yaml', join(dir, 'refund-request.yaml'));
    const { hash } = await loadBlueprint('goals/refund-request.yaml');
    const registry = (sha: string) =>
      `blueprints:\n  - name: refund-request\n    version: 3\n    file: refund-request.yaml\n    sha256: ${sha}\n`;
    writeFileSync(join(dir, 'registry.yaml'), registry(hash));
    expect(readRegistry(dir).map(({ name, version, sha256 }) => ({ name, version, sha256 }))).toEqual([
      { name: 'refund-request', version: '3', sha256: hash },
    ]);
    const store = createTrustStore({ blueprintsDir: dir });
    expect(store.snapshot().blueprints).toEqual([{ name: 'refund-request', version: '3', sha256: hash }]);

    // Someone edits the registered file (approvers: [mallory]) without re-registering it.
    writeFileSync(
      join(dir, 'refund-request.yaml'),
      (await import('node:fs'))
        .readFileSync('goals/refund-request.yaml', 'utf8')
        .replace('finance: [alice, bob, carol]', 'finance: [mallory]'),
    );
    expect(() => readRegistry(dir)).toThrow(/has sha256 [0-9a-f]{64}, but registry.yaml pins .*baton register/);
  });

  it('is part of the worker configuration, checked at start', () => {
    expect(() => loadWorkerConfig({ BATON_TRUST_FILE: join(dir, 'nope.yaml') })).toThrow(
      /BATON_TRUST_FILE names .*nope.yaml, which does not exist/,
    );
    expect(loadWorkerConfig({}).allowAdHocBlueprints).toBe(false);
    expect(loadWorkerConfig({ BATON_ALLOW_ADHOC_BLUEPRINTS: 'true' }).allowAdHocBlueprints).toBe(true);
  });
});

describe('an operator identity made with the CLI (docker-compose.yml)', () => {
  it('keygen --trust-file adds each key under its issuer; register keeps paths relative to the registry', async () => {
    const id = join(dir, 'identity');
    const goals = join(dir, 'goals');
    mkdirSync(goals);
    copyFileSync('goals/refund-request.yaml', join(goals, 'refund-request.yaml'));
    const trustFile = join(id, 'trust.yaml');
    for (const kid of ['c1', 'c2']) {
      const r = await baton([
        'keygen',
        '--out',
        join(id, kid),
        '--kid',
        kid,
        '--issuer',
        'http://gw.test',
        '--trust-file',
        trustFile,
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const again = await baton([
      'keygen',
      '--out',
      join(id, 'c3'),
      '--kid',
      'c1',
      '--issuer',
      'http://gw.test',
      '--trust-file',
      trustFile,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already has key c1 of http://gw.test; choose another --kid');
    expect(readTrustFile(trustFile).issuers).toEqual([
      {
        issuer: 'http://gw.test',
        keys: [expect.objectContaining({ kid: 'c1' }), expect.objectContaining({ kid: 'c2' })],
      },
    ]);
    const registered = await baton(['register', join(goals, 'refund-request.yaml'), '--registry', id]);
    expect(registered.code, registered.stderr).toBe(0);
    expect(readFileSync(join(id, 'registry.yaml'), 'utf8')).toContain('file: ../goals/refund-request.yaml');
    // Moved elsewhere together (as a container mounts them side by side), the registry still finds its blueprints.
    const moved = join(dir, 'moved');
    cpSync(id, join(moved, 'identity'), { recursive: true });
    cpSync(goals, join(moved, 'goals'), { recursive: true });
    const store = createTrustStore({
      trustFile: join(moved, 'identity', 'trust.yaml'),
      blueprintsDir: join(moved, 'identity'),
    });
    expect(store.snapshot().blueprints.map((b) => b.name)).toEqual(['refund-request']);
    expect(store.registry().map((e) => e.loaded.blueprint.name)).toEqual(['refund-request']);
  });
});
