/**
 * The approval gateway in a browser: a real Temporal dev server, the dev identity provider (oidc-provider, a real
 * OpenID Connect implementation) and `baton serve`, driven by headless Chromium. Carol signs the CLI in (device-style
 * login confirmed in the browser) and starts a registered refund; Sam signs in and sees nothing to approve; Alice
 * signs in at the identity provider, sees the request with its arguments and reason, approves it, and the goal
 * completes. Screenshots go to test-results/gateway/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goalState } from '../src/client/goals.js';
import { loadConfig } from '../src/config.js';
import { startDevIdentity, type DevIdentity } from '../src/gateway/dev.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import type { GoalResult } from '../src/workflows/definitions.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { freePort, startDevServer } from './helpers/servers.js';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = join('test-results', 'gateway');

let env: TestWorkflowEnvironment;
let h: Harness;
let identity: DevIdentity;
let dataDir: string;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`headless Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (as .ci/run does)`);
  }
  env = await startDevServer();
  dataDir = mkdtempSync(join(tmpdir(), 'baton-gateway-'));
  const script = parse(await readFile('goals/scripts/refund-request.script.yaml', 'utf8')) as ScriptInput;
  identity = await startDevIdentity(loadConfig({}), { dataDir, host: '127.0.0.1', gatewayPort: await freePort() });
  h = await createHarness(env, { scripts: [script], trust: identity.trust });
  await identity.serve(env.connection, h.taskQueue);
  mkdirSync(artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await identity?.close();
  await env?.teardown();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Signs a person in at the dev identity provider, in a fresh browser context, and returns the inbox page. */
async function signIn(user: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(identity.gatewayUrl);
  // The gateway sent us to the identity provider's own login page.
  await page.waitForURL((u) => u.href.startsWith(identity.issuer));
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.href.startsWith(identity.gatewayUrl));
  await expect(page.getByTestId('me').textContent()).resolves.toBe(user);
  return page;
}

/** The CLI's sign-in, confirmed in the person's browser: returns the CLI's bearer token. */
async function cliToken(page: Page): Promise<string> {
  const begin = (await (
    await fetch(`${identity.gatewayUrl}/api/cli/login`, { method: 'POST', body: JSON.stringify({ client: 'test' }) })
  ).json()) as { device_code: string; verification_uri_complete: string };
  await page.goto(begin.verification_uri_complete);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByText('CLI signed in').waitFor();
  const got = (await (
    await fetch(`${identity.gatewayUrl}/api/cli/token`, {
      method: 'POST',
      body: JSON.stringify({ device_code: begin.device_code }),
    })
  ).json()) as { access_token?: string };
  expect(got.access_token).toBeTruthy();
  return got.access_token!;
}

describe('the approval gateway in a browser', () => {
  it('signs people in, shows each what waits on them, and an approval completes the goal', async () => {
    const carol = await signIn('carol');
    const token = await cliToken(carol);
    const started = (await (
      await fetch(`${identity.gatewayUrl}/api/goals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ blueprint: 'refund-request', input: { customerId: 'c-42', amount: 120 } }),
      })
    ).json()) as { goalId: string };
    expect(started.goalId).toMatch(/^refund-request-/);
    const state = await eventually(async () => {
      const s = await goalState(env.client, started.goalId);
      return s.status === 'awaiting_approval' ? s : undefined;
    }, 'the refund to wait for approval');
    expect(state.startedBy).toBe('carol');

    // Sam (secops, analyst) is not a finance approver: nothing waits on him.
    const sam = await signIn('sam');
    await sam.getByTestId('empty').waitFor();
    expect(await sam.locator('[data-approval]').count()).toBe(0);
    await sam.screenshot({ path: join(artifacts, 'inbox-sam.png'), fullPage: true });

    const alice = await signIn('alice');
    const card = alice.locator(`[data-approval="${started.goalId}/apr-1"]`);
    await card.waitFor();
    await expect(card.textContent()).resolves.toMatch(/issue_refund/);
    await expect(card.textContent()).resolves.toMatch(/"amount": 120/);
    await expect(card.textContent()).resolves.toMatch(/started by carol/);
    // The policy's condition that held, as the example's blueprint words it.
    await expect(card.textContent()).resolves.toMatch(/needed because args\.customerId != input\.customerId/);
    await alice.screenshot({ path: join(artifacts, 'inbox-alice.png'), fullPage: true });
    await card.getByLabel('Comment').fill('order checked');
    await card.getByRole('button', { name: 'Approve' }).click();
    await alice.getByText(`You approved apr-1 of ${started.goalId}; it is now approved.`).waitFor();
    await alice.screenshot({ path: join(artifacts, 'approved-alice.png'), fullPage: true });

    const result = (await h.client.workflow.getHandle(started.goalId).result()) as GoalResult;
    expect(result.status).toBe('completed');
    const final = await goalState(env.client, started.goalId);
    expect(final.approvals[0]?.votes.map((v) => [v.by, v.decision, v.comment])).toEqual([
      ['alice', 'approve', 'order checked'],
    ]);
    // Verified in the workflow, against the key the dev worker trusts.
    expect(final.approvals[0]?.votes[0]?.identity).toMatchObject({ verified: true, issuer: identity.gatewayUrl });
    expect(final.starter).toMatchObject({ subject: 'carol', verified: true, blueprint: 'refund-request@dev' });
    // Now nothing waits on alice either.
    await alice.goto(identity.gatewayUrl);
    await alice.getByTestId('empty').waitFor();
  });
});
