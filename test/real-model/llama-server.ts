/**
 * A real OpenAI-compatible model server for the real-model suite: llama.cpp through llama-cpp-python's server, with
 * a small GGUF model from PyPI, both installed by scripts/install-real-model.mjs into .tools/real-model/. It listens
 * on 127.0.0.1 only and runs with one thread: on a shared 2-core machine two threads collapse generation.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/runtime/free-port.js';

export interface LlamaServer {
  baseURL: string;
  modelName: string;
  /** Output tokens per second of a short generation, measured once at start. */
  tokensPerSecond: number;
  /** What the server printed (its last lines), for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

interface Installed {
  python: string;
  model: string;
  modelName: string;
}

/** Runs the install script (quick when everything is cached) and returns where things are. */
export function installRealModel(): Installed {
  const out = execFileSync(process.execPath, ['scripts/install-real-model.mjs'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Installed;
}

async function waitReady(url: string, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the model server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/models`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the model server at ${url} did not become ready`);
}

/** Starts the server and measures its speed; `stop()` ends exactly the process it started. */
export async function startLlamaServer(installed: Installed, readyTimeoutMs = 300_000): Promise<LlamaServer> {
  const port = await freePort();
  const lines: string[] = [];
  const child = spawn(
    installed.python,
    [
      '-m',
      'llama_cpp.server',
      '--model',
      installed.model,
      '--model_alias',
      'local',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--n_threads',
      '1',
      '--n_threads_batch',
      '1',
      '--n_ctx',
      '4096',
      '--chat_format',
      'chatml-function-calling',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const baseURL = `http://127.0.0.1:${port}/v1`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitReady(baseURL, child, Date.now() + readyTimeoutMs);
    const started = Date.now();
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'local',
        messages: [{ role: 'user', content: 'Count from one to twenty in words.' }],
        max_tokens: 32,
        temperature: 0,
      }),
    });
    const body = (await res.json()) as { usage?: { completion_tokens?: number } };
    const tokens = body.usage?.completion_tokens ?? 0;
    const tokensPerSecond = Math.round((tokens / ((Date.now() - started) / 1000)) * 10) / 10;
    return { baseURL, modelName: installed.modelName, tokensPerSecond, log: () => lines.join('\n'), stop };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${lines.slice(-30).join('\n')}`, { cause: err });
  }
}
