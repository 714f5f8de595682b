/**
 * Context that scales (issue 14), against a real dev server with the payload store: goals of 10 and 100 steps whose
 * tool returns 32 KiB pages. What each step adds to the history and to the store stays flat (100 steps ≤ 1.25× 10),
 * no payload passes 256 KiB, no run passes 10,240 events or 10 MB, and a model call's input does not grow with the
 * goal. The 1,000-step version of the same goal is `npm run test:scale` (test/scale/), minutes long on 2 cores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batonDataConverter } from '../src/codec/data-converter.js';
import { FileObjectStore } from '../src/codec/payload-store.js';
import { createHarness, type Harness } from './helpers/harness.js';
import { describeFigures, PAGE_CHARS, readPage, runScaleGoal, type ScaleFigures } from './helpers/scale-goal.js';
import { startDevServer } from './helpers/servers.js';

const MAX_EVENTS = 10_240;
const MAX_BYTES = 10 * 1024 * 1024;
const MAX_PAYLOAD = 256 * 1024;

describe('history and store per step stay flat with 32 KiB tool outputs', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const dir = mkdtempSync(join(tmpdir(), 'baton-scale-'));

  beforeAll(async () => {
    env = await startDevServer();
    h = await createHarness(env, {
      dataConverter: batonDataConverter(undefined, { objects: new FileObjectStore(dir) })!,
      builtins: { read_page: readPage },
    });
  });

  afterAll(async () => {
    await h?.close();
    await env?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('10 and 100 steps: flat bytes per step, small payloads, every run within the limits', async () => {
    const figures: ScaleFigures[] = [];
    for (const steps of [10, 100]) {
      const f = await runScaleGoal(h, steps, dir);
      console.log(describeFigures(f));
      figures.push(f);
      // The last page ends with the words that finish the goal: the model was sent whole pages.
      expect(f.answer).toBe(`Read all ${steps} pages.`);
      for (const n of f.events) expect(n).toBeLessThan(MAX_EVENTS);
      for (const b of f.bytes) expect(b).toBeLessThan(MAX_BYTES);
      expect(f.largestPayload).toBeLessThan(MAX_PAYLOAD);
      // Every page was stored once: the store grew by at least a page a step.
      expect(f.storeBytesPerStep).toBeGreaterThan(PAGE_CHARS);
    }
    const [ten, hundred] = figures as [ScaleFigures, ScaleFigures];
    // Within the window the prompt only grows at its end: the provider's prompt cache serves most of it.
    expect(ten.cachedRatio).toBeGreaterThan(0.5);
    // The history holds no page: a step adds a few KiB, not 32.
    expect(hundred.historyBytesPerStep).toBeLessThan(PAGE_CHARS / 2);
    expect(hundred.historyBytesPerStep / ten.historyBytesPerStep).toBeLessThanOrEqual(1.25);
    expect(hundred.storeBytesPerStep / ten.storeBytesPerStep).toBeLessThanOrEqual(1.25);
    expect(hundred.medianModelInput / ten.medianModelInput).toBeLessThanOrEqual(1.25);
  }, 600_000);
});
