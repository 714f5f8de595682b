/** The engine's pure rules: budget shares and extensions, the context window, shared memory, verdicts, replies. */
import { describe, expect, it } from 'vitest';
import { exceeded, extendLimits, newBudget, taskShare } from '../src/workflows/budget.js';
import type { ChatMessage, MemoryEntry, QuestionRecord, ValidationState } from '../src/workflows/definitions.js';
import { mergeMemory, readMemory, writeMemory } from '../src/workflows/memory.js';
import { replyRefusalReason } from '../src/workflows/questions.js';
import { contextWindow } from '../src/workflows/transcript.js';
import { judge, propose } from '../src/workflows/validation.js';

describe('budget', () => {
  it('splits what is left between the tasks and the delegating agent, and refuses shares too small', () => {
    const b = newBudget({ maxSteps: 30, maxTokens: 9000, maxCostUsd: 0.9, maxDurationMs: 60_000 });
    b.used = { steps: 3, tokens: 3000, costUsd: 0.3, durationMs: 10_000 };
    expect(taskShare(b, 2)).toEqual({
      maxSteps: 9,
      maxTokens: 2000,
      maxCostUsd: expect.closeTo(0.2, 10) as number,
      maxDurationMs: 50_000,
    });
    expect(taskShare(b, 13)).toMatch(/^not enough budget to delegate 13 task\(s\): 27 steps left/);
  });

  it('grows each exhausted limit by its original value', () => {
    const b = newBudget({ maxSteps: 10, maxTokens: 100 });
    b.used = { steps: 10, tokens: 150, costUsd: 0, durationMs: 0 };
    const over = exceeded(b);
    expect(over).toEqual(['steps', 'tokens']);
    expect(extendLimits({ maxSteps: 20, maxTokens: 100 }, { maxSteps: 10, maxTokens: 100 }, over)).toEqual({
      maxSteps: 30,
      maxTokens: 200,
    });
  });
});

describe('context window', () => {
  const call = (id: string): ChatMessage => ({
    role: 'assistant',
    content: null,
    toolCalls: [{ id, name: 't', arguments: '{}' }],
  });
  const result = (id: string): ChatMessage => ({ role: 'tool', toolCallId: id, content: 'ok' });
  it('keeps the opening message and the latest ones, never starting on a tool result without its call', () => {
    const opening: ChatMessage = { role: 'user', content: 'Goal input' };
    const messages = [opening, call('a'), result('a'), call('b'), result('b'), result('b2')];
    expect(contextWindow(messages, 10)).toEqual(messages);
    expect(contextWindow(messages, 3)).toEqual([opening, call('b'), result('b'), result('b2')]);
    // A cut at a tool result reaches back to its call, so the latest exchange stays whole.
    expect(contextWindow(messages, 2)).toEqual([opening, call('b'), result('b'), result('b2')]);
    expect(contextWindow(messages, 4)).toEqual(messages);
  });
});

describe('shared memory', () => {
  const entry = (key: string, value: unknown, step = 1): MemoryEntry => ({ key, value, agent: 'a', step, at: 't' });
  it('replaces a key, refuses oversized values and a full store, and reads by key or prefix', () => {
    const memory: MemoryEntry[] = [];
    expect(writeMemory(memory, entry('x.1', 1), 2).ok).toBe(true);
    expect(writeMemory(memory, entry('x.1', 2, 5), 2).output).toBe('saved x.1 (replaced its previous value)');
    expect(writeMemory(memory, entry('y', 'z'.repeat(9000)), 2)).toMatchObject({ ok: false });
    expect(writeMemory(memory, entry('x.2', 3), 2).ok).toBe(true);
    expect(writeMemory(memory, entry('x.3', 4), 2).output).toMatch(/^error: shared memory is full \(2 keys\)/);
    expect(JSON.parse(readMemory(memory, { prefix: 'x.' }))).toEqual([
      { key: 'x.1', value: 2, agent: 'a', step: 5 },
      { key: 'x.2', value: 3, agent: 'a', step: 1 },
    ]);
    expect(readMemory(memory, { key: 'nope' })).toBe('no key nope in shared memory; keys: x.1, x.2');
    expect(mergeMemory(memory, [{ ...entry('x.2', 9), task: 't-1' }, entry('x.9', 1)], 2)).toEqual(['x.9']);
    expect(memory[1]).toMatchObject({ value: 9, task: 't-1' });
  });
});

describe('validator verdicts', () => {
  it('sends feedback back, then gives up past the rounds', () => {
    const v: ValidationState = { rejections: 0, verdicts: [] };
    expect(judge(v, { accepted: true }, 'checker', 1, 't', 1)).toEqual({ kind: 'none' });
    propose(v, 'v1', 'writer', 2);
    expect(judge(v, { accepted: false, feedback: 'why?' }, 'checker', 3, 't', 1)).toMatchObject({
      kind: 'rejected',
      by: 'writer',
    });
    propose(v, 'v2', 'writer', 4);
    expect(judge(v, { accepted: false, feedback: 'still' }, 'checker', 5, 't', 1)).toMatchObject({
      kind: 'exhausted',
      reason: 'validator checker rejected the answer of writer 2 times (limit 1) at step 5; last feedback: still',
    });
    propose(v, 'v3', 'writer', 6);
    expect(judge(v, { accepted: true, note: 'ok' }, 'checker', 7, 't', 1)).toEqual({
      kind: 'accepted',
      answer: 'v3',
      by: 'writer',
    });
    expect(v.verdicts.map((x) => x.verdict)).toEqual(['rejected', 'rejected', 'accepted']);
  });
});

describe('replies to ask_human', () => {
  it('explains every refusal', () => {
    const q: QuestionRecord = {
      id: 'q-1',
      agent: 'desk',
      step: 1,
      question: '?',
      to: ['group:soc'],
      eligible: ['sam'],
      status: 'pending',
      askedAt: 't',
    };
    expect(replyRefusalReason([q], { questionId: 'q-1', answer: 'yes', by: 'sam' })).toBeUndefined();
    expect(replyRefusalReason([q], { questionId: 'q-2', answer: 'yes', by: 'sam' })).toBe(
      'no question "q-2" in this goal; open questions: q-1',
    );
    expect(replyRefusalReason([q], { questionId: 'q-1', answer: ' ', by: 'sam' })).toBe(
      'answer must be non-empty text',
    );
    expect(replyRefusalReason([{ ...q, status: 'timed_out' }], { questionId: 'q-1', answer: 'y', by: 'sam' })).toBe(
      'question q-1 is already timed out',
    );
  });
});
