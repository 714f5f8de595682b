/**
 * The cluster's files agree with each other (the cluster itself runs under `npm run test:cluster`): docker-compose.yml
 * runs the server version that temporal/cluster/ builds, both configure the server through the same variables of its
 * embedded config template, the scripts parse, and Worker Versioning settings are checked like every other setting.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError, loadWorkerConfig } from '../src/config.js';
import { defaultBuildId, deploymentOptions } from '../src/versioning.js';

interface Service {
  image?: string;
  environment?: Record<string, string>;
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> };
const pins = JSON.parse(readFileSync('temporal/binaries.json', 'utf8')) as { server: { version: string } };
const clusterScript = readFileSync('temporal/cluster/cluster.sh', 'utf8');

/** The default of `${VAR:-default}` in an image reference. */
function imageVersion(image: string | undefined): string | undefined {
  return /:\$\{[A-Z_]+:-([^}]+)\}$/.exec(image ?? '')?.[1];
}

describe('the cluster files', () => {
  it('runs one server version everywhere: the compose images and the Go build', () => {
    expect(pins.server.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(imageVersion(compose.services.temporal?.image)).toBe(pins.server.version);
    expect(imageVersion(compose.services['temporal-schema']?.image)).toBe(pins.server.version);
    expect(imageVersion(compose.services['temporal-setup']?.image)).toBe(pins.server.version);
    expect(imageVersion('temporalio/server:${TEMPORAL_VERSION:-1.29.1}')).not.toBe(pins.server.version);
  });

  it('configures the server alike: PostgreSQL, shards and the dynamic config file', () => {
    const env = compose.services.temporal?.environment ?? {};
    expect(env.DB).toBe('postgres12');
    expect(clusterScript).toContain('export DB=postgres12');
    for (const name of ['POSTGRES_SEEDS', 'DB_PORT', 'POSTGRES_USER', 'POSTGRES_PWD', 'NUM_HISTORY_SHARDS']) {
      expect(env, name).toHaveProperty(name);
      expect(clusterScript, name).toMatch(new RegExp(`\\b${name}=`));
    }
    expect(Number(env.NUM_HISTORY_SHARDS)).toBeGreaterThan(1);
    expect(clusterScript).toContain('DYNAMIC_CONFIG_FILE_PATH=');
    expect(clusterScript).toContain('temporal/dynamicconfig/baton.yaml');
    // Loopback only.
    expect(clusterScript).toContain('BIND_ON_IP=127.0.0.1');
    expect(clusterScript).toContain('listen_addresses=127.0.0.1');
  });

  it('has shell scripts that parse', () => {
    for (const file of ['temporal/cluster/cluster.sh', 'temporal/setup-schema.sh', 'temporal/setup-namespace.sh']) {
      expect(() => execFileSync('sh', ['-n', file]), file).not.toThrow();
    }
  });
});

describe('Worker Versioning settings', () => {
  it('are off by default, and a deployment name turns them on, pinned', () => {
    expect(loadWorkerConfig({}).deployment).toBeUndefined();
    expect(loadWorkerConfig({ BATON_DEPLOYMENT_NAME: 'baton' }).deployment).toEqual({
      name: 'baton',
      behavior: 'PINNED',
    });
    expect(
      loadWorkerConfig({
        BATON_DEPLOYMENT_NAME: 'baton',
        BATON_BUILD_ID: '2026-11-27',
        BATON_VERSIONING_BEHAVIOR: 'auto-upgrade',
      }).deployment,
    ).toEqual({ name: 'baton', buildId: '2026-11-27', behavior: 'AUTO_UPGRADE' });
  });

  it('name what is wrong and the fix', () => {
    expect(() => loadWorkerConfig({ BATON_BUILD_ID: 'v2' })).toThrow(
      new ConfigError(
        'BATON_BUILD_ID is set without BATON_DEPLOYMENT_NAME: set both for Worker Versioning, or neither',
      ),
    );
    expect(() => loadWorkerConfig({ BATON_DEPLOYMENT_NAME: 'baton.prod' })).toThrow(
      'BATON_DEPLOYMENT_NAME is invalid: use a name without dots, e.g. baton (got "baton.prod")',
    );
    expect(() => loadWorkerConfig({ BATON_DEPLOYMENT_NAME: 'baton', BATON_VERSIONING_BEHAVIOR: 'sticky' })).toThrow(
      'BATON_VERSIONING_BEHAVIOR is invalid: expected pinned or auto-upgrade (got "sticky")',
    );
  });

  it('derive the build id from the workflow bundle, so changed code is a new version', () => {
    const a = defaultBuildId({ workflowBundle: { codePath: 'package.json' } });
    const b = defaultBuildId({ workflowBundle: { codePath: 'tsconfig.json' } });
    expect(a).toMatch(/^bundle-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(defaultBuildId({ workflowBundle: { codePath: 'package.json' } })).toBe(a);
    expect(defaultBuildId({ workflowsPath: 'src/workflows/index.ts' })).toMatch(/^package-\d+\.\d+\.\d+/);
    expect(
      deploymentOptions({ name: 'baton', behavior: 'PINNED' }, { workflowBundle: { codePath: 'package.json' } }),
    ).toEqual({
      version: { deploymentName: 'baton', buildId: a },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'PINNED',
    });
  });
});

function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, name))
    .find((file) => existsSync(file));
}

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: { scaleTargetRef?: { name: string }; selector?: { matchLabels?: Record<string, string> } };
}

/** Renders a kustomization as deploy.test.ts does: kubectl's kustomize, else kustomize built from its Go module. */
function kustomize(dir: string): Manifest[] {
  const kubectl = onPath('kubectl');
  const out = kubectl
    ? execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8' })
    : execFileSync('go', ['run', 'sigs.k8s.io/kustomize/kustomize/v5@v5.5.0', 'build', dir], {
        encoding: 'utf8',
        timeout: 300_000,
      });
  return parseAllDocuments(out).map((d) => d.toJS() as Manifest);
}

describe('deploy/overlays/worker-version', () => {
  it('renders one version of the worker that names, selects and registers only itself', () => {
    const objects = kustomize('deploy/overlays/worker-version');
    const byKind = (kind: string) => objects.find((o) => o.kind === kind)!;
    expect(objects.map((o) => o.kind)).not.toContain('PrometheusRule');
    const deployment = byKind('Deployment');
    expect(deployment.metadata.name).toBe('baton-worker-v1');
    expect(deployment.spec?.selector?.matchLabels).toMatchObject({ 'baton.dev/worker-version': 'v1' });
    expect(byKind('ScaledObject').spec?.scaleTargetRef?.name).toBe(deployment.metadata.name);
    expect(byKind('PodDisruptionBudget').spec?.selector?.matchLabels).toMatchObject({
      'baton.dev/worker-version': 'v1',
    });
    const settings = byKind('ConfigMap').data ?? {};
    expect(settings.BATON_BUILD_ID).toBe(deployment.metadata.labels?.['baton.dev/worker-version']);
    expect(loadWorkerConfig(settings).deployment).toEqual({ name: 'baton', buildId: 'v1', behavior: 'PINNED' });
  });
});
