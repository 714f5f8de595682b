/**
 * The CLI's identity commands: `baton login|logout|whoami` (through the gateway), `baton serve` (the gateway),
 * `baton keygen` (a gateway signing key and the trust entry workers need) and `baton register` (pins a blueprint
 * in a registry directory). Each is registered with one line in cli.ts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { loadBlueprint } from '../blueprint/load.js';
import { loadConfig } from '../config.js';
import { generateSigningKey } from '../identity/assertion.js';
import { GoalCommandError } from './errors.js';

function print(json: boolean | undefined, data: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`);
}

/** `baton login`. */
export function loginCommand(): Command {
  return new Command('login')
    .description('sign the CLI in through the approval gateway (OpenID Connect); decisions then act as you')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ npx baton login     # open the printed URL, sign in, allow')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const { login } = await import('./gateway-client.js');
      const c = await login(config, (url, code) => {
        process.stderr.write(`Open this URL in a browser, sign in and allow code ${code}:\n  ${url}\nWaiting...\n`);
      });
      print(
        opts.json,
        { subject: c.subject, gateway: c.gatewayUrl, expiresAt: c.expiresAt },
        `signed in as ${c.subject} at ${c.gatewayUrl} until ${c.expiresAt}`,
      );
    });
}

/** `baton logout`. */
export function logoutCommand(): Command {
  return new Command('logout')
    .description("forget the CLI's session with the approval gateway")
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ npx baton logout')
    .action(async (opts: { json?: boolean }) => {
      const { logout } = await import('./gateway-client.js');
      logout(loadConfig());
      print(opts.json, { signedOut: true }, 'signed out');
    });
}

/** `baton whoami`. */
export function whoamiCommand(): Command {
  return new Command('whoami')
    .description('who the approval gateway says the CLI acts as, with groups')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ npx baton whoami')
    .action(async (opts: { json?: boolean }) => {
      const { whoami } = await import('./gateway-client.js');
      const me = await whoami(loadConfig());
      print(opts.json, me, `${me.subject} (${me.name}); Baton groups: ${me.groups.join(', ') || 'none'}`);
    });
}

/** `baton serve`: the approval gateway. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('run the approval gateway: OpenID Connect login, inbox, JSON API; signs decisions (docs/approvals.md)')
    .option('--json', 'print the URL as JSON once listening')
    .addHelpText(
      'after',
      '\nExample:\n  $ BATON_OIDC_ISSUER=https://login.example.com BATON_OIDC_CLIENT_ID=baton BATON_SIGNING_KEY_FILE=gateway-key BATON_SIGNING_KEY_ID=2026-06 npx baton serve',
    )
    .action(async (opts: { json?: boolean }) => {
      const { loadGatewayConfig } = await import('../gateway/config.js');
      const { startGateway } = await import('../gateway/server.js');
      const { createTrustStore } = await import('../trust/load.js');
      const { connectClient, goalUrl } = await import('./goals.js');
      const config = loadGatewayConfig();
      const trust = createTrustStore(
        {
          ...(config.trustFile ? { trustFile: config.trustFile } : {}),
          ...(config.blueprintsDir ? { blueprintsDir: config.blueprintsDir } : {}),
        },
        (err) => process.stderr.write(`[baton serve] trust reload failed, keeping the last good one: ${err.message}\n`),
      );
      const client = await connectClient({ ...config, user: 'baton-gateway' });
      const gateway = await startGateway({
        client,
        taskQueue: config.taskQueue,
        trust,
        publicUrl: config.publicUrl,
        host: config.host,
        port: config.port,
        oidc: config.oidc,
        signingKey: config.signingKey,
        assertionTtlSeconds: config.assertionTtlSeconds,
        uiLink: (goalId) => goalUrl(config, goalId),
      });
      print(
        opts.json,
        { url: gateway.url, publicUrl: config.publicUrl, keyId: config.signingKey.kid },
        `approval gateway on ${gateway.url} (public URL ${config.publicUrl}, key ${config.signingKey.kid})`,
      );
      await new Promise<void>((done) => {
        const stop = () => void gateway.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await client.connection.close();
    });
}

/** Adds a public key under its issuer in a trust file, creating the file (with an empty group mapping) if needed. */
function addToTrustFile(file: string, issuer: string, key: { kid: string; publicKey: string }): void {
  type TrustYaml = { issuers?: { issuer: string; keys: { kid: string; publicKey: string }[] }[]; groups?: unknown };
  const trust: TrustYaml = existsSync(file)
    ? ((parse(readFileSync(file, 'utf8')) as TrustYaml | null) ?? {})
    : { issuers: [], groups: {} };
  trust.issuers ??= [];
  const entry = trust.issuers.find((i) => i.issuer === issuer);
  if (entry?.keys.some((k) => k.kid === key.kid))
    throw new GoalCommandError(`${file} already has key ${key.kid} of ${issuer}; choose another --kid`);
  if (entry) entry.keys.push(key);
  else trust.issuers.push({ issuer, keys: [key] });
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, stringify(trust));
}

/** `baton keygen`: a new gateway signing key. */
export function keygenCommand(): Command {
  return new Command('keygen')
    .description('make an Ed25519 signing key for `baton serve` and print the trust entry workers need')
    .requiredOption('--out <file>', 'where to write the private key (mode 0600); never commit it')
    .option('--kid <id>', 'key id (rotate by adding a new id)', new Date().toISOString().slice(0, 10))
    .option('--issuer <url>', 'the gateway URL the trust entry names', 'https://approvals.example.com')
    .option('--trust-file <file>', 'also add the key to this trust file (created if missing) for the workers')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ npx baton keygen --out gateway-key --kid 2026-06')
    .action((opts: { out: string; kid: string; issuer: string; trustFile?: string; json?: boolean }) => {
      if (existsSync(opts.out))
        throw new GoalCommandError(`${opts.out} exists; choose another --out (a key is never overwritten)`);
      const key = generateSigningKey();
      mkdirSync(dirname(resolve(opts.out)), { recursive: true });
      writeFileSync(opts.out, `${key.privateKey}\n`, { mode: 0o600 });
      const trust = { issuers: [{ issuer: opts.issuer, keys: [{ kid: opts.kid, publicKey: key.publicKey }] }] };
      if (opts.trustFile) addToTrustFile(opts.trustFile, opts.issuer, { kid: opts.kid, publicKey: key.publicKey });
      print(
        opts.json,
        { privateKeyFile: opts.out, kid: opts.kid, publicKey: key.publicKey },
        `wrote the private key to ${opts.out}; give the gateway BATON_SIGNING_KEY_FILE=${opts.out} BATON_SIGNING_KEY_ID=${opts.kid}\n${
          opts.trustFile
            ? `added the public key to ${opts.trustFile} (map your identity provider's groups under groups:)`
            : `add to the workers' BATON_TRUST_FILE:\n${stringify(trust)}`
        }`,
      );
    });
}

/** `baton register`: pins blueprints by sha256 in a registry directory's registry.yaml. */
export function registerCommand(): Command {
  return new Command('register')
    .description('pin blueprints by sha256 in a registry directory (BATON_BLUEPRINTS) so workers run them')
    .argument('<files...>', 'blueprint files')
    .requiredOption('--registry <dir>', 'the registry directory (holds registry.yaml)')
    .option('--version <v>', 'the version to register them as', '1')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ npx baton register goals/refund-request.yaml --registry . --version 3')
    .action(async (files: string[], opts: { registry: string; version: string; json?: boolean }) => {
      const file = resolve(opts.registry, 'registry.yaml');
      const registry = existsSync(file)
        ? ((parse(readFileSync(file, 'utf8')) as { blueprints?: Record<string, string>[] } | null) ?? {})
        : {};
      const entries = registry.blueprints ?? [];
      const done = [];
      for (const f of files) {
        const loaded = await loadBlueprint(f);
        const rel = relative(dirname(file), resolve(f));
        const entry = {
          name: loaded.blueprint.name,
          version: opts.version,
          // Relative to the registry, so a registry and its blueprints mounted side by side (docker-compose.yml)
          // resolve the same inside a container.
          file: isAbsolute(rel) ? resolve(f) : rel,
          sha256: loaded.hash,
        };
        const at = entries.findIndex((e) => e.name === entry.name && e.version === entry.version);
        if (at >= 0) entries[at] = entry;
        else entries.push(entry);
        done.push(entry);
      }
      writeFileSync(file, stringify({ blueprints: entries }));
      print(
        opts.json,
        done,
        done.map((e) => `registered ${e.name}@${e.version} sha256 ${e.sha256} in ${file}`).join('\n'),
      );
    });
}
