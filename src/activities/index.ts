/** The worker's activities, built from their dependencies so tests and the worker assemble them the same way. */
import type OpenAI from 'openai';
import { emptyTrust, type TrustSnapshot } from '../identity/trust.js';
import { createModelActivity } from './model.js';
import { createNotifyActivity } from './notify.js';
import type { Env } from './references.js';
import { createToolActivity, describeBuiltins, type BuiltinTool } from './tools.js';

export interface ActivityDeps {
  openai: OpenAI;
  /** Where `${secret:NAME}` and `${env:NAME}` are read; the worker passes process.env. */
  env: Env;
  builtins?: Readonly<Record<string, BuiltinTool>>;
  /** The operator's trust (src/trust/): keys, group mapping, registered blueprints. Absent: nobody is trusted. */
  trust?: () => TrustSnapshot;
}

/** Creates every activity Baton's workflows call. */
export function createActivities(deps: ActivityDeps) {
  const builtins = deps.builtins ?? {};
  const schemas = describeBuiltins(builtins);
  return {
    callModel: createModelActivity(deps.openai),
    runTool: createToolActivity(deps.env, builtins),
    notify: createNotifyActivity(deps.env),
    /** JSON Schemas of builtin functions, asked once per goal so the workflow can show them to the model. */
    /**
     * The operator's trust as it stands now, for workflows to record (a local activity at start and at each wake),
     * so a replay sees the trust the original run saw and a rotation or revocation reaches waiting goals.
     */
    loadTrust(): Promise<TrustSnapshot> {
      return Promise.resolve(deps.trust ? deps.trust() : emptyTrust());
    },
    describeBuiltins(names: string[]): Promise<Record<string, Record<string, unknown> | null>> {
      return Promise.resolve(Object.fromEntries(names.map((n) => [n, schemas[n] ?? null])));
    },
  };
}

/** The activities' type, for workflows (`import type` only). */
export type Activities = ReturnType<typeof createActivities>;
export type { BuiltinTool, ToolContext, ToolRequest, ToolResult } from './tools.js';
export type { ModelReply, ModelRequest, ToolDescriptor } from './model.js';
export type { ApprovalNotification, NotificationReceipt, NotificationRequest } from './notify.js';
