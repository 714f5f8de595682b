/**
 * The CLI's side of the approval gateway: `baton login` (a device-style sign-in the person confirms in a browser),
 * the saved session, and the JSON API calls through which `baton approvals|approve|reject|reply|start` act as the
 * signed-in person. The CLI never names who decides: the gateway signs for whoever signed in.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import type { BatonConfig } from '../config.js';
import type { ApprovalRecord, QuestionRecord } from '../workflows/definitions.js';
import { GoalCommandError } from './errors.js';

/** Where `baton dev` serves the gateway unless BATON_GATEWAY_URL says otherwise. */
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8455';

/** The CLI's saved session. */
export interface Credentials {
  gatewayUrl: string;
  token: string;
  subject: string;
  expiresAt: string;
}

/** The gateway the CLI talks to. */
export function gatewayUrl(config: BatonConfig): string {
  return config.gatewayUrl ?? DEFAULT_GATEWAY_URL;
}

/** The saved session for this gateway, if any and not expired. */
export function readCredentials(config: BatonConfig): Credentials | undefined {
  try {
    const c = JSON.parse(readFileSync(config.credentialsFile, 'utf8')) as Credentials;
    if (c.gatewayUrl !== gatewayUrl(config) || Date.parse(c.expiresAt) <= Date.now()) return undefined;
    return c;
  } catch {
    return undefined;
  }
}

function saveCredentials(config: BatonConfig, c: Credentials): void {
  mkdirSync(dirname(config.credentialsFile), { recursive: true, mode: 0o700 });
  writeFileSync(config.credentialsFile, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  chmodSync(config.credentialsFile, 0o600);
}

/** Forgets the saved session. */
export function logout(config: BatonConfig): void {
  rmSync(config.credentialsFile, { force: true });
}

async function call<T>(config: BatonConfig, method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const base = gatewayUrl(config);
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new GoalCommandError(
      `cannot reach the approval gateway at ${base} (${(err as Error).message}): start \`baton dev\` or \`baton serve\`, or set BATON_GATEWAY_URL`,
    );
  }
  const data = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) {
    if (res.status === 401) throw new GoalCommandError(`not signed in to ${base}: run \`baton login\``, 'config');
    if (res.status === 409 && data.error) throw new GoalCommandError(data.error, 'finished');
    if (res.status === 404 && data.error) throw new GoalCommandError(data.error, 'not_found');
    throw new GoalCommandError(`refused: ${data.error ?? `the gateway answered ${res.status}`}`, 'refused');
  }
  return data;
}

function session(config: BatonConfig): Credentials {
  const c = readCredentials(config);
  if (!c)
    throw new GoalCommandError(
      `not signed in to ${gatewayUrl(config)}: run \`baton login\` (BATON_USER is not an identity)`,
    );
  return c;
}

/**
 * Signs the CLI in: prints a URL for the person to open (and sign in at the identity provider), then waits until they
 * allow it. `announce` receives the URL and code.
 */
export async function login(
  config: BatonConfig,
  announce: (url: string, code: string) => void,
  opts: { timeoutMs?: number } = {},
): Promise<Credentials> {
  let who = 'someone';
  try {
    who = userInfo().username;
  } catch {
    // the client label is cosmetic
  }
  const begin = await call<{
    device_code: string;
    user_code: string;
    verification_uri_complete: string;
    interval: number;
  }>(config, 'POST', '/api/cli/login', { client: `the Baton CLI (${who}@${hostname()})` });
  announce(begin.verification_uri_complete, begin.user_code);
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.max(1, begin.interval) * 1000));
    const res = await fetch(`${gatewayUrl(config)}/api/cli/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device_code: begin.device_code }),
    });
    const data = (await res.json()) as { access_token?: string; subject?: string; expires_at?: string; error?: string };
    if (res.ok && data.access_token) {
      const c = {
        gatewayUrl: gatewayUrl(config),
        token: data.access_token,
        subject: data.subject!,
        expiresAt: data.expires_at!,
      };
      saveCredentials(config, c);
      return c;
    }
    if (data.error !== 'authorization_pending')
      throw new GoalCommandError(`sign-in failed: ${data.error ?? res.status}; run \`baton login\` again`);
  }
  throw new GoalCommandError('sign-in timed out; run `baton login` again');
}

/** Who the gateway says the CLI acts as. */
export function whoami(
  config: BatonConfig,
): Promise<{ subject: string; name: string; groups: string[]; idpGroups: string[] }> {
  return call(config, 'GET', '/api/me', undefined, session(config).token);
}

/** A pending approval as the gateway lists it. */
export interface GatewayApproval extends ApprovalRecord {
  goalId: string;
  goal: string;
  startedBy: string;
}

/** What waits on the signed-in person; goals whose state could not be read are listed under `failures`. */
export function inbox(
  config: BatonConfig,
  goalId?: string,
): Promise<{
  approvals: GatewayApproval[];
  questions: (QuestionRecord & { goalId: string })[];
  failures: { goalId: string; error: string }[];
}> {
  return call(
    config,
    'GET',
    `/api/approvals${goalId ? `?goal=${encodeURIComponent(goalId)}` : ''}`,
    undefined,
    session(config).token,
  );
}

/** Decides an approval as the signed-in person. */
export function decide(
  config: BatonConfig,
  goalId: string,
  approvalId: string,
  decision: 'approve' | 'reject',
  comment?: string,
): Promise<ApprovalRecord> {
  return call(
    config,
    'POST',
    `/api/goals/${encodeURIComponent(goalId)}/decide`,
    { approvalId, decision, comment },
    session(config).token,
  );
}

/** Answers a question as the signed-in person. */
export function reply(
  config: BatonConfig,
  goalId: string,
  questionId: string,
  answer: string,
): Promise<QuestionRecord> {
  return call(
    config,
    'POST',
    `/api/goals/${encodeURIComponent(goalId)}/reply`,
    { questionId, answer },
    session(config).token,
  );
}

/** Starts a goal as the signed-in person: a registered blueprint by name, or a file's text (ad hoc, where allowed). */
export function start(
  config: BatonConfig,
  what: { blueprint: string; version?: string } | { blueprintYaml: string; file: string },
  input: unknown,
  id?: string,
): Promise<{ goalId: string; runId: string }> {
  return call(config, 'POST', '/api/goals', { ...what, input, ...(id ? { id } : {}) }, session(config).token);
}
