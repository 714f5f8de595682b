/**
 * A real gateway for CLI tests: the dev identity provider and `baton serve`'s server on loopback, and a sign-in that
 * walks the real OpenID Connect flow over HTTP (authorization request, the provider's login form, the code
 * exchange, the CLI's device confirmation) without a browser, saving the CLI's session where BATON_CREDENTIALS says.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../../src/config.js';
import { startDevIdentity, type DevIdentity } from '../../src/gateway/dev.js';
import type { TrustStore } from '../../src/trust/load.js';
import { testTrust } from './identity.js';
import { freePort } from './servers.js';

export interface TestGateway {
  identity: DevIdentity;
  url: string;
  dir: string;
  /** Signs `user` in through the real login and returns the variables that make the CLI act as them. */
  login(user: string): Promise<Record<string, string>>;
  /** A bearer token for `user`'s API calls (as `baton login` gets). */
  token(user: string): Promise<string>;
  close(): Promise<void>;
}

/** A cookie jar for one host (cookies ignore ports, as browsers do). */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** Follows redirects by hand, keeping cookies, and returns the final response and its URL. */
async function browse(jar: Jar, url: string, init: RequestInit = {}): Promise<{ res: Response; url: string }> {
  let current = url;
  let req: RequestInit = init;
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(current, { ...req, redirect: 'manual', headers: { ...req.headers, cookie: jar.header() } });
    jar.take(res);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return { res, url: current };
    current = new URL(location, current).href;
    req = {};
  }
  throw new Error(`too many redirects from ${url}`);
}

function form(fields: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  };
}

/** Starts the dev identity provider and the gateway for a harness's task queue. */
export async function startTestGateway(env: TestWorkflowEnvironment, taskQueue: string): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-gw-'));
  const identity = await startDevIdentity(loadConfig({}), {
    dataDir: dir,
    host: '127.0.0.1',
    gatewayPort: await freePort(),
  });
  await identity.serve(env.connection, taskQueue);
  const url = identity.gatewayUrl;

  const token = (user: string): Promise<string> => gatewayToken(url, user);

  return {
    identity,
    url,
    dir,
    token,
    login: (user) => loginThrough(url, user, dir),
    async close() {
      await identity.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Trust for a harness's workers that accepts both the test key and the gateway's key (once the gateway is started
 * and put in `holder`), with the gateway's group mapping.
 */
export function trustingGateway(holder: { gw?: TestGateway }): TrustStore {
  return {
    snapshot: () => {
      const base = testTrust();
      const dev = holder.gw?.identity.trust.snapshot();
      return { ...base, ...(dev ? { groups: dev.groups } : {}), issuers: [...base.issuers, ...(dev?.issuers ?? [])] };
    },
    registry: () => [],
  };
}

/** A bearer token for `user` from the gateway at `url`, through its real device-style login (password `demo`). */
export async function gatewayToken(url: string, user: string): Promise<string> {
  const begin = (await (await fetch(`${url}/api/cli/login`, { method: 'POST', body: '{}' })).json()) as {
    device_code: string;
    verification_uri_complete: string;
  };
  const jar = new Jar();
  const atLogin = await browse(jar, begin.verification_uri_complete);
  const action = /action="([^"]+)"/.exec(await atLogin.res.text())?.[1];
  if (!action) throw new Error(`no login form at ${atLogin.url}`);
  const confirm = await browse(jar, new URL(action, atLogin.url).href, form({ login: user, password: 'demo' }));
  const csrf = /name="csrf" value="([^"]+)"/.exec(await confirm.res.text())?.[1];
  if (!csrf) throw new Error(`no confirmation page after signing ${user} in (${confirm.url})`);
  await browse(
    jar,
    `${url}/device`,
    form({ csrf, code: new URL(begin.verification_uri_complete).searchParams.get('code')! }),
  );
  const got = (await (
    await fetch(`${url}/api/cli/token`, { method: 'POST', body: JSON.stringify({ device_code: begin.device_code }) })
  ).json()) as { access_token?: string };
  if (!got.access_token) throw new Error(`the gateway gave ${user} no token`);
  return got.access_token;
}

/**
 * Signs `user` in at the gateway at `url` (a test's, or the one `baton dev` runs) and returns the variables that make
 * the CLI act as them; the credentials file goes in `dir`.
 */
export async function loginThrough(url: string, user: string, dir: string): Promise<Record<string, string>> {
  const file = join(dir, `credentials-${user}.json`);
  const token = await gatewayToken(url, user);
  writeFileSync(
    file,
    JSON.stringify({ gatewayUrl: url, token, subject: user, expiresAt: new Date(Date.now() + 3600_000).toISOString() }),
  );
  return { BATON_GATEWAY_URL: url, BATON_CREDENTIALS: file };
}
