/** The operator's trust files: validation with clear errors, registry pinning by sha256, reload on change. */
import { mkdtempSync, rmSync, utimesSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBlueprint } from '../src/blueprint/load.js';
import { loadWorkerConfig } from '../src/config.js';
import { generateSigningKey } from '../src/identity/assertion.js';
import { createTrustStore, readRegistry, readTrustFile, TrustConfigError } from '../src/trust/load.js';

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
