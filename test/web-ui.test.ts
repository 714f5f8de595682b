/**
 * The Temporal Web UI tells a goal's story without opening JSON. A dev server with its Web UI, a finished goal and a
 * waiting one of another blueprint; headless Chromium (Debian's package, driven by playwright-core) filters the
 * workflow list by `BatonGoal`, opens the finished goal, reads the activity summaries in its history and its
 * summary and details, and saves screenshots under test-results/web-ui/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlueprint } from '../src/blueprint/load.js';
import { goalState } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { freePort, startDevServer } from './helpers/servers.js';
import { signedDecide } from './helpers/identity.js';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = join('test-results', 'web-ui');

let env: TestWorkflowEnvironment;
let h: Harness;
let ui: string;
let profile: string;
let browser: BrowserContext;
let page: Page;
let finished: string;
let waiting: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`headless Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (as .ci/run does)`);
  }
  const uiPort = await freePort();
  env = await startDevServer({ uiPort });
  ui = `http://127.0.0.1:${uiPort}`;
  const script = parse(await readFile('goals/scripts/refund-request.script.yaml', 'utf8')) as ScriptInput;
  h = await createHarness(env, { scripts: [script, { ...script, goal: 'refund-other' }] });
  const refund = await loadBlueprint('goals/refund-request.yaml');

  const done = await h.start(refund, { customerId: 'c-42', amount: 120 });
  const other = await h.start({ ...refund, blueprint: { ...refund.blueprint, name: 'refund-other' } }, {});
  for (const id of [done.workflowId, other.workflowId]) {
    await eventually(async () => {
      const s = await goalState(env.client, id);
      return s.status === 'awaiting_approval' ? s : undefined;
    }, `${id} to wait for approval`);
  }
  await signedDecide(env.client, done.workflowId, {
    approvalId: 'apr-1',
    decision: 'approve',
    by: 'alice',
    comment: 'order checked',
  });
  await done.result();
  finished = done.workflowId;
  waiting = other.workflowId;

  mkdirSync(artifacts, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'baton-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1600, height: 1800 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await env?.teardown();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Waits until some frame of the page shows text matching `pattern`. */
async function shown(pattern: RegExp): Promise<void> {
  await eventually(
    async () => {
      for (const frame of page.frames()) {
        if ((await frame.getByText(pattern).count()) > 0) return true;
      }
      return undefined;
    },
    `the Web UI to show ${String(pattern)}`,
  );
}

describe('the Web UI', () => {
  it('finds the finished goal by BatonGoal and shows its activity summaries, summary and details', async () => {
    const query = encodeURIComponent('BatonGoal="refund-request" AND BatonStatus="completed"');
    const row = page.getByRole('link', { name: finished, exact: true });
    await eventually(async () => {
      await page.goto(`${ui}/namespaces/default/workflows?query=${query}`);
      await row.waitFor({ timeout: 5_000 });
      return true;
    }, `${finished} in the Web UI's workflow list`);
    // The filter is real: the other blueprint's goal is not listed.
    expect(await page.getByRole('link', { name: waiting, exact: true }).count()).toBe(0);
    await page.screenshot({ path: join(artifacts, 'goal-list.png') });

    await row.click();
    await page.getByText('Event History').first().click();
    await page.getByText('Compact', { exact: true }).first().click();
    for (const summary of [
      'billing: model gpt-4o-mini (requested)',
      'billing: lookup_customer {customerId: c-42}',
      'billing: issue_refund {customerId: c-42, amount: 120}',
    ]) {
      await page.getByText(summary, { exact: true }).first().waitFor({ timeout: 30_000 });
    }
    await page.getByText('decide', { exact: true }).first().waitFor();
    const history = join(artifacts, 'goal-history.png');
    await page.screenshot({ path: history, fullPage: true });
    expect(statSync(history).size).toBeGreaterThan(10_000);

    await page.getByText('User Metadata', { exact: true }).first().click();
    // Summary, details and current details are Markdown, rendered in frames, with typographic quotes.
    await shown(/refund-request: \{customerId: c-42, amount: 120, reason: .Parcel arrived damaged.\}/);
    await shown(/Decide and execute a customer refund/);
    await shown(/issue_refund \(approval when .*args\.amount > 100 by group:finance\)/);
    await shown(/result: Refunded 120 USD to Ada Lovelace/);
    await page.screenshot({ path: join(artifacts, 'goal-details.png'), fullPage: true });
  });
});
