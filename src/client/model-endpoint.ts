/** Choosing the model endpoint: a real OpenAI-compatible one when configured, else the scripted model, said plainly. */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BatonConfig } from '../config.js';
import { projectRoot } from '../runtime/temporal-binaries.js';
import { loadScript } from '../scripted-model/script.js';
import { startScriptedModel, type ScriptedModel } from '../scripted-model/server.js';
import type { ModelEndpoint } from '../worker.js';

/** Script files (`*.script.yaml`) in the project's goals/scripts/ and in ./goals/scripts/ (and ./goals/, for older layouts). */
async function scriptFiles(): Promise<string[]> {
  const dirs = [...new Set([join(projectRoot, 'goals', 'scripts'), resolve('goals', 'scripts'), resolve('goals')])];
  const files: string[] = [];
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    files.push(...names.filter((n) => n.endsWith('.script.yaml')).map((n) => join(dir, n)));
  }
  return files;
}

/** The endpoint a worker uses, and the scripted server when one was started for it. */
export interface ResolvedModel {
  endpoint: ModelEndpoint;
  scripted?: ScriptedModel;
  /** Extra environment for activities (the demo API's address). */
  env: Record<string, string>;
}

/**
 * Uses OPENAI_BASE_URL / OPENAI_API_KEY when either is set; otherwise, when allowed, the scripted model with every
 * goals/scripts/*.script.yaml, announced on stderr. With `demoApi`, the scripted server is started in any case for the demo
 * API the example blueprints call (BATON_DEMO_API).
 */
export async function resolveModel(
  config: BatonConfig,
  opts: { allowScripted: boolean; demoApi: boolean },
): Promise<ResolvedModel> {
  const configured = Boolean(config.openaiApiKey || config.openaiBaseUrl);
  if (!configured && !opts.allowScripted) {
    throw new Error(
      'no model endpoint: set OPENAI_API_KEY (and OPENAI_BASE_URL for Azure, Ollama, vLLM...), or pass --scripted to use the scripted offline model',
    );
  }
  let scripted: ScriptedModel | undefined;
  if (!configured || opts.demoApi) {
    const files = await scriptFiles();
    scripted = await startScriptedModel({ scripts: await Promise.all(files.map((f) => loadScript(f))) });
    if (!configured) {
      process.stderr.write(
        `\n  SCRIPTED MODEL: no OPENAI_API_KEY or OPENAI_BASE_URL is set, so model replies come from\n` +
          `  ${files.length} script file(s) (goals/scripts/*.script.yaml) served at ${scripted.baseURL}. They are canned,\n` +
          `  not a model: each reply is fixed text, and follows --input only where a script says {{input.FIELD}}.\n` +
          `  Set OPENAI_API_KEY (and OPENAI_BASE_URL for other endpoints) to use a real model.\n\n`,
      );
    }
  }
  const endpoint = configured
    ? {
        ...(config.openaiBaseUrl ? { baseURL: config.openaiBaseUrl } : {}),
        ...(config.openaiApiKey ? { apiKey: config.openaiApiKey } : {}),
      }
    : { baseURL: scripted!.baseURL };
  return { endpoint, ...(scripted ? { scripted } : {}), env: scripted ? { BATON_DEMO_API: scripted.demoURL } : {} };
}
