/** The worker's activities, built from their dependencies so tests and the worker assemble them the same way. */
import type OpenAI from 'openai';
import { createModelActivity } from './model.js';
import { createNotifyActivity } from './notify.js';
import type { Env } from './references.js';
import { createToolActivity, describeBuiltins, type BuiltinTool } from './tools.js';

export interface ActivityDeps {
  openai: OpenAI;
  /** Where `${secret:NAME}` and `${env:NAME}` are read; the worker passes process.env. */
  env: Env;
  builtins?: Readonly<Record<string, BuiltinTool>>;
}

/** Creates every activity Baton's workflows call. */
export function createActivities(deps: ActivityDeps) {
  const builtins = deps.builtins ?? {};
  const schemas = describeBuiltins(builtins);
  return {
    callModel: createModelActivity({ openai: deps.openai, env: deps.env }),
    runTool: createToolActivity(deps.env, builtins),
    notify: createNotifyActivity(deps.env),
    /** JSON Schemas of builtin functions, asked once per goal so the workflow can show them to the model. */
    describeBuiltins(names: string[]): Promise<Record<string, Record<string, unknown> | null>> {
      return Promise.resolve(Object.fromEntries(names.map((n) => [n, schemas[n] ?? null])));
    },
  };
}

/** The activities' type, for workflows (`import type` only). */
export type Activities = ReturnType<typeof createActivities>;
export type { BuiltinTool, ToolContext, ToolRequest, ToolResult } from './tools.js';
export type { ModelOutcome, ModelReply, ModelRequest, ModelUsage, ToolDescriptor } from './model.js';
export type { ApprovalNotification, NotificationReceipt, NotificationRequest } from './notify.js';
