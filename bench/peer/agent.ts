/**
 * The peer in Baton's benchmark: the same scripted agent written with LangGraph JS and its SQLite checkpointer, the
 * way its documentation shows human-in-the-loop: an agent node calls the model (openai SDK, same scripted server,
 * same messages and tools as Baton sends), a tools node runs the tool calls and `interrupt()`s before the guarded
 * one; the driver resumes it with a `Command`. Runs in its own process; prints one JSON object with its samples.
 */
import { readFile } from 'node:fs/promises';
import {
  Annotation,
  Command,
  END,
  isInterrupted,
  START,
  StateGraph,
  interrupt,
  type LangGraphRunnableConfig,
} from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import OpenAI from 'openai';
import { z } from 'zod';
import type { PeerResult, PeerSpec } from '../peer-protocol.js';

const StepArgs = z.object({ n: z.int() });

const spec = JSON.parse(process.env.BENCH_PEER ?? '{}') as PeerSpec;
const openai = new OpenAI({ apiKey: 'not-needed', baseURL: spec.modelBaseURL, maxRetries: 0 });
const tools = spec.tools.map((t) => ({ type: 'function' as const, function: t }));

const State = Annotation.Root({
  messages: Annotation<OpenAI.Chat.ChatCompletionMessageParam[]>({
    reducer: (a, b) => a.concat(b),
    default: () => [],
  }),
});
type AgentState = typeof State.State;

async function callModel(state: AgentState): Promise<Partial<AgentState>> {
  const completion = await openai.chat.completions.create(
    { model: spec.model, temperature: spec.temperature, messages: state.messages, tools },
    { headers: { 'x-baton-goal': spec.goal, 'x-baton-agent': spec.agent } },
  );
  const message = completion.choices[0]?.message;
  if (!message) throw new Error('the model returned no choices');
  return {
    messages: [
      {
        role: 'assistant',
        content: message.content,
        ...(message.tool_calls?.length ? { tool_calls: message.tool_calls } : {}),
      },
    ],
  };
}

/** `guarded_step`, as Baton's HTTP tool runs it: a POST to the tool server with an idempotency key. */
async function guardedStep(threadId: string, callId: string, args: string): Promise<string> {
  const res = await fetch(`${spec.toolURL}/guarded`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `${threadId}/${callId}` },
    body: JSON.stringify(StepArgs.parse(JSON.parse(args))),
  });
  if (!res.ok) throw new Error(`guarded_step answered ${res.status}`);
  return `HTTP ${res.status}\n${await res.text()}`;
}

async function runTools(state: AgentState, config: LangGraphRunnableConfig): Promise<Partial<AgentState>> {
  const threadId = String(config.configurable?.thread_id);
  const last = state.messages.at(-1);
  const calls = last?.role === 'assistant' ? (last.tool_calls ?? []) : [];
  const results: OpenAI.Chat.ChatCompletionToolMessageParam[] = [];
  for (const call of calls) {
    if (call.type !== 'function') continue;
    if (call.function.name === 'guarded_step') {
      const decision = interrupt<unknown, { decision: string }>({
        tool: call.function.name,
        args: call.function.arguments,
      });
      if (decision.decision !== 'approve') {
        results.push({ role: 'tool', tool_call_id: call.id, content: 'not run: the approval was rejected' });
        continue;
      }
      results.push({
        role: 'tool',
        tool_call_id: call.id,
        content: await guardedStep(threadId, call.id, call.function.arguments),
      });
      continue;
    }
    const { n } = StepArgs.parse(JSON.parse(call.function.arguments));
    results.push({ role: 'tool', tool_call_id: call.id, content: `step ${n} done` });
  }
  return { messages: results };
}

function route(state: AgentState): 'tools' | typeof END {
  const last = state.messages.at(-1);
  return last?.role === 'assistant' && last.tool_calls?.length ? 'tools' : END;
}

const graph = new StateGraph(State)
  .addNode('agent', callModel)
  .addNode('tools', runTools)
  .addEdge(START, 'agent')
  .addConditionalEdges('agent', route, ['tools', END])
  .addEdge('tools', 'agent')
  .compile({ checkpointer: SqliteSaver.fromConnString(spec.dbPath) });

/** Wall-clock milliseconds with sub-millisecond precision (the driver's side channel uses the same clock). */
function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

async function runAgent(threadId: string): Promise<{ busy: number; resumeSentAt: number }> {
  const config = { configurable: { thread_id: threadId } };
  const started = performance.now();
  const first = await graph.invoke({ messages: spec.messages }, config);
  const parkedAt = performance.now();
  if (!isInterrupted(first)) throw new Error(`peer agent ${threadId} finished without stopping for approval`);
  const resumeSentAt = wallClock();
  const sent = performance.now();
  const final = await graph.invoke(new Command({ resume: { decision: 'approve', by: 'bench' } }), config);
  const done = performance.now();
  const answer = final.messages.at(-1)?.content;
  if (typeof answer !== 'string' || !answer.includes(`All ${spec.steps} steps are done`)) {
    throw new Error(`peer agent ${threadId} ended without the scripted answer: ${JSON.stringify(answer)}`);
  }
  return { busy: parkedAt - started + (done - sent), resumeSentAt };
}

async function main(): Promise<void> {
  const result: PeerResult = { versions: {}, busyMs: [], resumeSentAt: [], cpuMs: 0 };
  for (const name of ['@langchain/langgraph', '@langchain/langgraph-checkpoint-sqlite', 'better-sqlite3', 'openai']) {
    const pkg = new URL(`./node_modules/${name}/package.json`, import.meta.url);
    result.versions[name] = (JSON.parse(await readFile(pkg, 'utf8')) as { version: string }).version;
  }
  for (let i = 0; i < spec.warmup; i++) await runAgent(`peer-warmup-${i}`);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < spec.agents; i++) {
    const r = await runAgent(`peer-agent-${i}`);
    result.busyMs.push(r.busy);
    result.resumeSentAt.push(r.resumeSentAt);
  }
  const cpu = process.cpuUsage(cpu0);
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
