/**
 * The identity side of `baton dev`: a local OpenID Connect provider with demo users, a fresh gateway signing key,
 * the trust file the dev worker verifies decisions with, a registry of goals/*.yaml, and the gateway itself.
 * Ad hoc blueprints are allowed here, and said so loudly; `baton worker` never allows them by default.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { loadBlueprint } from '../blueprint/load.js';
import { batonDataConverter } from '../codec/data-converter.js';
import type { BatonConfig } from '../config.js';
import { generateSigningKey } from '../identity/assertion.js';
import { projectRoot } from '../runtime/temporal-binaries.js';
import { createTrustStore, type TrustStore } from '../trust/load.js';
import { DEMO_PASSWORD, DEMO_USERS, DEV_CLIENT_ID, startDevIdentityProvider } from './dev-idp.js';
import { startGateway } from './server.js';

/** The dev stack's identity pieces, once started. */
export interface DevIdentity {
  /** What the dev worker verifies decisions against. */
  trust: TrustStore;
  gatewayUrl: string;
  issuer: string;
  /** Lines for the banner of `baton dev`. */
  banner: string[];
  /** Starts the gateway once Temporal is up (it needs a connection); `taskQueue` overrides the configured one. */
  serve(connection: Connection, taskQueue?: string): Promise<void>;
  close(): Promise<void>;
}

/** Writes a registry of the example blueprints (version `dev`), so `baton start refund-request` works by name. */
async function writeDevRegistry(dir: string): Promise<void> {
  const goals = join(projectRoot, 'goals');
  const entries = [];
  for (const f of readdirSync(goals)
    .filter((n) => n.endsWith('.yaml') && !n.endsWith('.script.yaml'))
    .sort()) {
    const loaded = await loadBlueprint(join(goals, f));
    entries.push({ name: loaded.blueprint.name, version: 'dev', file: join(goals, f), sha256: loaded.hash });
  }
  writeFileSync(join(dir, 'registry.yaml'), stringify({ blueprints: entries }));
}

/**
 * Prepares the dev identity provider, key, trust and registry under `dataDir/identity`.
 * @param gatewayPort where the gateway will listen (BATON_SERVE_PORT, default 8455)
 */
export async function startDevIdentity(
  config: BatonConfig,
  opts: { dataDir: string; host: string; gatewayPort?: number },
): Promise<DevIdentity> {
  const dir = resolve(opts.dataDir, 'identity');
  mkdirSync(dir, { recursive: true });
  const port = opts.gatewayPort ?? Number(process.env.BATON_SERVE_PORT ?? 8455);
  const gatewayUrl = `http://${opts.host}:${port}`;
  const idp = await startDevIdentityProvider({ redirectUris: [`${gatewayUrl}/callback`], host: opts.host });
  const key = generateSigningKey();
  const kid = `dev-${new Date().toISOString().slice(0, 19)}`;
  const groups = Object.fromEntries([...new Set(DEMO_USERS.flatMap((u) => u.groups))].map((g) => [g, [g]]));
  writeFileSync(
    join(dir, 'trust.yaml'),
    stringify({
      audience: 'baton',
      issuers: [{ issuer: gatewayUrl, keys: [{ kid, publicKey: key.publicKey }] }],
      groups,
    }),
  );
  writeFileSync(join(dir, 'gateway-key'), `${key.privateKey}\n`, { mode: 0o600 });
  // The audit export key outlives a restart, so exports made earlier still check against audit-key.pub.
  if (!existsSync(join(dir, 'audit-key'))) {
    const audit = generateSigningKey();
    writeFileSync(join(dir, 'audit-key'), `${audit.privateKey}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'audit-key.pub'), `${audit.publicKey}\n`);
  }
  await writeDevRegistry(dir);
  const trust = createTrustStore({
    trustFile: join(dir, 'trust.yaml'),
    blueprintsDir: dir,
    allowAdHocBlueprints: true,
  });
  let close: () => Promise<void> = () => idp.close();
  return {
    trust,
    gatewayUrl,
    issuer: idp.issuer,
    banner: [
      `  Approvals inbox ${gatewayUrl}   (BATON_GATEWAY_URL; \`npx baton login\` signs the CLI in)`,
      `  Identity (dev)  ${idp.issuer}   users ${DEMO_USERS.map((u) => `${u.name} (${u.groups.join(', ')})`).join(', ')}; password ${DEMO_PASSWORD}`,
      `  Trust           ${join(dir, 'trust.yaml')}   DEV ONLY: unregistered (ad hoc) blueprints may run`,
    ],
    async serve(connection, taskQueue) {
      const client = new Client({
        connection,
        namespace: config.namespace,
        identity: 'baton-gateway (dev)',
        dataConverter: batonDataConverter(config.encryptionKeys),
      });
      const gateway = await startGateway({
        client,
        taskQueue: taskQueue ?? config.taskQueue,
        trust,
        publicUrl: gatewayUrl,
        host: opts.host,
        port,
        oidc: { issuer: idp.issuer, clientId: DEV_CLIENT_ID, userClaim: 'preferred_username', groupsClaim: 'groups' },
        signingKey: { kid, privateKey: key.privateKey },
        assertionTtlSeconds: 300,
        uiLink: (goalId) =>
          `${config.uiUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(goalId)}`,
        allowAdHocBlueprints: true,
      });
      close = async () => {
        await gateway.close();
        await idp.close();
      };
    },
    close: () => close(),
  };
}
