/**
 * The operator's trust, read by workers and by the gateway from their own files (never from a starter):
 * `BATON_TRUST_FILE` (issuers, keys with rotation and revocation, group mapping, tolerances) and
 * `BATON_BLUEPRINTS` (a directory whose `registry.yaml` pins each registered blueprint by sha256).
 * Files are re-read when they change, so a rotation or a revocation needs no restart.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { BlueprintError } from '../blueprint/errors.js';
import { parseBlueprint, type LoadedBlueprint } from '../blueprint/load.js';
import { fromBase64url } from '../identity/encoding.js';
import { TRUST_DEFAULTS, type RegisteredBlueprint, type TrustSnapshot } from '../identity/trust.js';

/** A trust or registry file that cannot be used, with what to fix. */
export class TrustConfigError extends Error {
  override readonly name = 'TrustConfigError';
}

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'expected an ISO 8601 time' });
const publicKey = z.string().refine((s) => fromBase64url(s)?.length === 32, {
  error: 'expected an Ed25519 public key: 32 bytes, base64url (`baton keygen` prints one)',
});

const TrustFileSchema = z.strictObject({
  audience: z.string().min(1).default('baton'),
  issuers: z
    .array(
      z.strictObject({
        issuer: z.string().min(1),
        keys: z
          .array(
            z.strictObject({
              kid: z.string().min(1),
              publicKey,
              notBefore: isoTime.optional(),
              notAfter: isoTime.optional(),
              revoked: z.boolean().optional(),
            }),
          )
          .min(1),
      }),
    )
    .default([]),
  groups: z.record(z.string(), z.array(z.string().min(1))).default({}),
  clockSkewSeconds: z.number().int().min(0).max(600).default(TRUST_DEFAULTS.clockSkewSeconds),
  maxLifetimeSeconds: z.number().int().min(10).max(86_400).default(TRUST_DEFAULTS.maxLifetimeSeconds),
  refreshSeconds: z.number().int().min(0).max(3600).default(TRUST_DEFAULTS.refreshSeconds),
});

const RegistrySchema = z.strictObject({
  blueprints: z.array(
    z.strictObject({
      name: z.string().min(1),
      version: z.coerce.string().min(1),
      file: z.string().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected the 64 hex digits `baton register` prints' }),
    }),
  ),
});

/** A registered blueprint with its definition, as the gateway starts it. */
export interface RegistryEntry extends RegisteredBlueprint {
  loaded: LoadedBlueprint;
}

function readStructured(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TrustConfigError(`${what} ${file} cannot be read (${(err as Error).message}); fix the path`);
  }
  try {
    return parse(text) as unknown;
  } catch (err) {
    throw new TrustConfigError(`${what} ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
}

/** Reads a trust file (YAML or JSON). */
export function readTrustFile(file: string): Omit<TrustSnapshot, 'blueprints' | 'allowAdHocBlueprints'> {
  const parsed = TrustFileSchema.safeParse(readStructured(file, 'trust file') ?? {});
  if (!parsed.success) throw new TrustConfigError(`trust file ${file} is invalid: ${issues(parsed.error)}`);
  return parsed.data;
}

/** Reads a blueprint registry directory, checking every file against the hash it is pinned by. */
export function readRegistry(dir: string): RegistryEntry[] {
  const file = resolve(dir, 'registry.yaml');
  const parsed = RegistrySchema.safeParse(readStructured(file, 'blueprint registry'));
  if (!parsed.success) throw new TrustConfigError(`blueprint registry ${file} is invalid: ${issues(parsed.error)}`);
  return parsed.data.blueprints.map((entry) => {
    const path = resolve(dirname(file), entry.file);
    let loaded: LoadedBlueprint;
    try {
      loaded = parseBlueprint(readFileSync(path, 'utf8'), path);
    } catch (err) {
      const why = err instanceof BlueprintError ? err.message : (err as Error).message;
      throw new TrustConfigError(
        `registered blueprint ${entry.name}@${entry.version} (${path}) cannot be loaded: ${why}`,
      );
    }
    if (loaded.hash !== entry.sha256) {
      throw new TrustConfigError(
        `registered blueprint ${entry.name}@${entry.version} (${path}) has sha256 ${loaded.hash}, but registry.yaml pins ${entry.sha256}: review the change, then run \`baton register ${path} --version ${entry.version}\``,
      );
    }
    if (loaded.blueprint.name !== entry.name) {
      throw new TrustConfigError(
        `${path} is named ${loaded.blueprint.name}, but registry.yaml registers it as ${entry.name}`,
      );
    }
    return { name: entry.name, version: entry.version, sha256: entry.sha256, loaded };
  });
}

/** Where the operator's trust comes from. */
export interface TrustSources {
  trustFile?: string;
  blueprintsDir?: string;
  /** Only `baton dev` (or an operator who says so explicitly) lets unregistered blueprints run. */
  allowAdHocBlueprints?: boolean;
}

function stamp(path: string | undefined): string {
  if (path === undefined) return '-';
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return 'missing';
  }
}

/** The trust snapshot and the registry, re-read whenever a source file changes. */
export interface TrustStore {
  snapshot(): TrustSnapshot;
  registry(): RegistryEntry[];
}

/**
 * Loads trust from its sources, failing at once on a bad file (so a worker never starts half-configured), and
 * reloading on change afterwards; a bad edit later keeps the last good snapshot and is reported through `onError`.
 */
export function createTrustStore(sources: TrustSources, onError: (err: Error) => void = () => undefined): TrustStore {
  const registryFile =
    sources.blueprintsDir === undefined ? undefined : resolve(sources.blueprintsDir, 'registry.yaml');
  let key = '';
  let current: { snapshot: TrustSnapshot; registry: RegistryEntry[] } | undefined;
  const load = (): void => {
    const next = `${stamp(sources.trustFile)}|${stamp(registryFile)}`;
    if (current && next === key) return;
    try {
      const base = sources.trustFile ? readTrustFile(sources.trustFile) : TrustFileSchema.parse({});
      const registry = sources.blueprintsDir ? readRegistry(sources.blueprintsDir) : [];
      current = {
        registry,
        snapshot: {
          ...base,
          blueprints: registry.map(({ name, version, sha256 }) => ({ name, version, sha256 })),
          allowAdHocBlueprints: sources.allowAdHocBlueprints ?? false,
        },
      };
      key = next;
    } catch (err) {
      if (!current) throw err;
      onError(err as Error);
    }
  };
  load();
  return {
    snapshot() {
      load();
      return current!.snapshot;
    },
    registry() {
      load();
      return current!.registry;
    },
  };
}
