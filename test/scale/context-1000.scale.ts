/**
 * Issue 14's acceptance at full size: a 1,000-step goal whose tool returns 32 KiB each completes against a real dev
 * server; no payload over 256 KiB in its history, no run over 10,240 events or 10 MB; history bytes per step at 1,000
 * steps ≤ 1.25× those at 10 steps, and the store's bytes per step flat the same way (each page stored once).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batonDataConverter } from '../../src/codec/data-converter.js';
import { FileObjectStore } from '../../src/codec/payload-store.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { describeFigures, PAGE_CHARS, readPage, runScaleGoal, type ScaleFigures } from '../helpers/scale-goal.js';
import { startDevServer } from '../helpers/servers.js';

describe('a 1,000-step goal with 32 KiB tool outputs', () => {
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

  it('completes with flat history and store per step, every run within the limits', async () => {
    const figures: ScaleFigures[] = [];
    for (const steps of [10, 100, 1000]) {
      const f = await runScaleGoal(h, steps, dir);
      console.log(describeFigures(f));
      figures.push(f);
      expect(f.answer).toBe(`Read all ${steps} pages.`);
      for (const n of f.events) expect(n).toBeLessThan(10_240);
      for (const b of f.bytes) expect(b).toBeLessThan(10 * 1024 * 1024);
      expect(f.largestPayload).toBeLessThan(256 * 1024);
      expect(f.storeBytesPerStep).toBeGreaterThan(PAGE_CHARS);
    }
    const [ten, , thousand] = figures as [ScaleFigures, ScaleFigures, ScaleFigures];
    expect(thousand.runs).toBeGreaterThan(1);
    expect(thousand.historyBytesPerStep / ten.historyBytesPerStep).toBeLessThanOrEqual(1.25);
    expect(thousand.storeBytesPerStep / ten.storeBytesPerStep).toBeLessThanOrEqual(1.25);
    expect(thousand.medianModelInput / ten.medianModelInput).toBeLessThanOrEqual(1.25);
  });
});
