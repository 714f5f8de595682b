/**
 * `baton serve`: the approval gateway. People sign in with OpenID Connect (authorization code + PKCE); the gateway
 * shows what waits on them, signs their decisions and answers (src/gateway/signer.ts) and delivers them through the
 * `decide` / `reply` updates. The CLI signs in through it (a device-style login) and uses the same JSON API.
 * Routes are listed in docs/approvals.md. Over 300 lines because the routes share what `startGateway` sets up (the
 * OpenID Connect client, the sessions, the desk); pages, HTTP helpers, sessions and signing have their own modules.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import * as oidc from 'openid-client';
import { parseBlueprint } from '../blueprint/load.js';
import type { TrustStore } from '../trust/load.js';
import { Desk, DeskError } from './desk.js';
import { BadRequest, cookies, readForm, readJson, redirect, sendHtml, sendJson } from './http.js';
import { devicePage, inboxPage, messagePage } from './pages.js';
import { SessionStore, sameSecret, type Person, type Session } from './sessions.js';
import { AssertionSigner } from './signer.js';

const COOKIE = 'baton_session';

export interface GatewayOptions {
  client: Client;
  taskQueue: string;
  trust: TrustStore;
  /** Public URL (issuer of assertions, base of the OIDC callback). */
  publicUrl: string;
  host: string;
  port: number;
  oidc: { issuer: string; clientId: string; clientSecret?: string; userClaim: string; groupsClaim: string };
  signingKey: { kid: string; privateKey: string };
  assertionTtlSeconds: number;
  /** The goal's page in the Temporal Web UI. */
  uiLink: (goalId: string) => string;
  /** `baton dev` only: people may start blueprints that are not registered. */
  allowAdHocBlueprints?: boolean;
}

export interface Gateway {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** A body field as a string ('' when absent or not a string). */
const field = (body: Record<string, unknown>, name: string): string =>
  typeof body[name] === 'string' ? body[name] : typeof body[name] === 'number' ? String(body[name]) : '';

function claimString(claims: Record<string, unknown>, name: string): string | undefined {
  const v = claims[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function claimList(claims: Record<string, unknown>, name: string): string[] {
  const v = claims[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** Starts the gateway; it discovers the identity provider first, so a wrong issuer fails at once. */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const insecure = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(opts.oidc.issuer);
  const idp = await oidc.discovery(
    new URL(opts.oidc.issuer),
    opts.oidc.clientId,
    undefined,
    opts.oidc.clientSecret ? oidc.ClientSecretPost(opts.oidc.clientSecret) : oidc.None(),
    insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
  );
  const sessions = new SessionStore();
  const signer = new AssertionSigner({
    issuer: opts.publicUrl,
    key: opts.signingKey,
    ttlSeconds: opts.assertionTtlSeconds,
    audience: opts.trust.snapshot().audience,
  });
  const desk = new Desk(opts.client, signer, () => opts.trust.snapshot(), opts.taskQueue);
  const secure = opts.publicUrl.startsWith('https:');
  const callback = `${opts.publicUrl}/callback`;
  const flashes = new Map<string, { kind: 'notice' | 'error'; text: string }>();

  const sessionCookie = (value: string, maxAge: number): string =>
    `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;

  const browserSession = (req: IncomingMessage): Session | undefined => sessions.get(cookies(req).get(COOKIE));
  const apiSession = (req: IncomingMessage): Session | undefined => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return sessions.get(m?.[1]);
  };

  const login = async (res: ServerResponse, next: string): Promise<void> => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    sessions.beginLogin(state, { verifier, nonce, next: next.startsWith('/') && !next.startsWith('//') ? next : '/' });
    const url = oidc.buildAuthorizationUrl(idp, {
      redirect_uri: callback,
      scope: 'openid profile groups',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    redirect(res, url.href);
  };

  const finishLogin = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const pending = sessions.takeLogin(url.searchParams.get('state'));
    if (!pending) {
      sendHtml(
        res,
        400,
        messagePage('Sign-in expired', 'That sign-in was not started here or took too long; try again.'),
      );
      return;
    }
    const tokens = await oidc.authorizationCodeGrant(idp, new URL(`${opts.publicUrl}${url.pathname}${url.search}`), {
      pkceCodeVerifier: pending.verifier,
      expectedState: url.searchParams.get('state') ?? undefined,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
    const info = (await oidc.fetchUserInfo(idp, tokens.access_token, String(idClaims.sub))) as Record<string, unknown>;
    const claims = { ...info, ...idClaims };
    const subject = claimString(claims, opts.oidc.userClaim);
    if (!subject) {
      sendHtml(res, 403, messagePage('Sign-in refused', `The identity provider sent no ${opts.oidc.userClaim} claim.`));
      return;
    }
    const person: Person = {
      subject,
      name: claimString(claims, 'name') ?? subject,
      idpGroups: [
        ...new Set([...claimList(info, opts.oidc.groupsClaim), ...claimList(idClaims, opts.oidc.groupsClaim)]),
      ],
    };
    const session = sessions.open(person);
    redirect(res, pending.next, { 'set-cookie': sessionCookie(session.id, 12 * 3600) });
  };

  const checkCsrf = (session: Session, form: URLSearchParams): void => {
    if (!sameSecret(form.get('csrf') ?? undefined, session.csrf))
      throw new BadRequest('the form is stale; reload the page', 403);
  };

  const showInbox = async (res: ServerResponse, session: Session): Promise<void> => {
    const flash = flashes.get(session.id);
    flashes.delete(session.id);
    const inbox = await desk.inbox(session);
    sendHtml(res, 200, inboxPage(session, desk.groupsOf(session), inbox, opts.uiLink, flash));
  };

  const act = async (res: ServerResponse, session: Session, work: () => Promise<string>): Promise<void> => {
    try {
      flashes.set(session.id, { kind: 'notice', text: await work() });
    } catch (err) {
      if (!(err instanceof DeskError)) throw err;
      flashes.set(session.id, { kind: 'error', text: `Refused: ${err.message}` });
    }
    redirect(res, '/');
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = url.pathname;
    if (req.method === 'POST' && path === '/api/cli/login') {
      const body = await readJson(req);
      const client = typeof body.client === 'string' ? body.client.slice(0, 100) : 'the Baton CLI';
      const d = sessions.beginDevice(client);
      sendJson(res, 200, {
        device_code: d.deviceCode,
        user_code: d.userCode,
        verification_uri_complete: `${opts.publicUrl}/device?code=${d.userCode}`,
        interval: 1,
        expires_in: 600,
      });
      return;
    }
    if (req.method === 'POST' && path === '/api/cli/token') {
      const body = await readJson(req);
      const got = sessions.pollDevice(field(body, 'device_code'));
      if (got === 'pending') sendJson(res, 400, { error: 'authorization_pending' });
      else if (!got) sendJson(res, 400, { error: 'expired_token' });
      else {
        const s = sessions.get(got.token)!;
        sendJson(res, 200, {
          access_token: got.token,
          subject: s.subject,
          expires_at: new Date(s.expiresAt).toISOString(),
        });
      }
      return;
    }
    const session = apiSession(req);
    if (!session) {
      sendJson(res, 401, { error: 'not signed in: run `baton login`' });
      return;
    }
    const m = /^\/api\/goals\/([^/]+)\/(decide|reply)$/.exec(path);
    try {
      if (req.method === 'GET' && path === '/api/me') {
        sendJson(res, 200, {
          subject: session.subject,
          name: session.name,
          idpGroups: session.idpGroups,
          groups: desk.groupsOf(session),
        });
      } else if (req.method === 'GET' && path === '/api/approvals') {
        sendJson(res, 200, await desk.inbox(session, url.searchParams.get('goal') ?? undefined));
      } else if (req.method === 'POST' && m?.[2] === 'decide') {
        const body = await readJson(req);
        const decision = body.decision;
        if (decision !== 'approve' && decision !== 'reject')
          throw new DeskError('decision must be "approve" or "reject"');
        const comment = typeof body.comment === 'string' && body.comment !== '' ? body.comment : undefined;
        sendJson(
          res,
          200,
          await desk.decide(session, decodeURIComponent(m[1]!), field(body, 'approvalId'), decision, comment),
        );
      } else if (req.method === 'POST' && m?.[2] === 'reply') {
        const body = await readJson(req);
        if (typeof body.answer !== 'string' || body.answer.trim() === '')
          throw new DeskError('answer must be a non-empty string');
        sendJson(
          res,
          200,
          await desk.reply(session, decodeURIComponent(m[1]!), field(body, 'questionId'), body.answer),
        );
      } else if (req.method === 'POST' && path === '/api/goals') {
        sendJson(res, 200, await startFor(session, await readJson(req)));
      } else {
        sendJson(res, 404, { error: `no route ${req.method} ${path}` });
      }
    } catch (err) {
      if (err instanceof DeskError) sendJson(res, err.status, { error: err.message });
      else throw err;
    }
  };

  const startFor = async (session: Session, body: Record<string, unknown>) => {
    const id = typeof body.id === 'string' && body.id !== '' ? body.id : undefined;
    if (typeof body.blueprintYaml === 'string') {
      if (!opts.allowAdHocBlueprints) {
        throw new DeskError(
          'this gateway starts registered blueprints only: name one (`baton blueprints` lists them)',
          403,
        );
      }
      let loaded;
      try {
        loaded = parseBlueprint(body.blueprintYaml, typeof body.file === 'string' ? body.file : '<input>');
      } catch (err) {
        throw new DeskError((err as Error).message);
      }
      const registered = opts.trust.registry().find((r) => r.sha256 === loaded.hash);
      return desk.start(
        session,
        registered
          ? { registered: { loaded: registered.loaded, name: registered.name, version: registered.version } }
          : { adHoc: loaded },
        body.input,
        id,
      );
    }
    const name = field(body, 'blueprint');
    const candidates = opts.trust.registry().filter((r) => r.name === name);
    const chosen =
      body.version === undefined ? candidates.at(-1) : candidates.find((r) => r.version === field(body, 'version'));
    if (!chosen) {
      const known =
        opts.trust
          .registry()
          .map((r) => `${r.name}@${r.version}`)
          .join(', ') || 'none';
      throw new DeskError(
        `no registered blueprint ${name}${body.version === undefined ? '' : `@${field(body, 'version')}`}; registered: ${known}`,
        404,
      );
    }
    return desk.start(
      session,
      { registered: { loaded: chosen.loaded, name: chosen.name, version: chosen.version } },
      body.input,
      id,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const path = url.pathname;
    if (path.startsWith('/api/')) return api(req, res, url);
    if (path === '/healthz') return sendJson(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/login') return login(res, url.searchParams.get('next') ?? '/');
    if (req.method === 'GET' && path === '/callback') return finishLogin(req, res, url);
    const session = browserSession(req);
    if (!session) {
      if (req.method === 'GET') return login(res, `${path}${url.search}`);
      return sendHtml(res, 401, messagePage('Signed out', 'Sign in again.'));
    }
    if (req.method === 'GET' && path === '/') return showInbox(res, session);
    if (req.method === 'GET' && path === '/device') {
      const d = sessions.device(url.searchParams.get('code'));
      if (!d) return sendHtml(res, 404, messagePage('Unknown code', 'That CLI sign-in code is unknown or expired.'));
      return sendHtml(res, 200, devicePage(session, d.userCode, d.client));
    }
    if (req.method !== 'POST') return sendHtml(res, 404, messagePage('Not found', path));
    const form = await readForm(req);
    checkCsrf(session, form);
    if (path === '/logout') {
      sessions.close(session.id);
      return redirect(res, '/login', { 'set-cookie': sessionCookie('', 0) });
    }
    if (path === '/device') {
      const ok = sessions.confirmDevice(form.get('code') ?? '', session);
      return sendHtml(
        res,
        ok ? 200 : 404,
        messagePage(
          ok ? 'CLI signed in' : 'Unknown code',
          ok ? `The CLI now acts as ${session.subject}. You can close this page.` : 'That code is unknown or expired.',
        ),
      );
    }
    const goal = form.get('goal') ?? '';
    if (path === '/decide') {
      const decision = form.get('decision');
      if (decision !== 'approve' && decision !== 'reject') throw new BadRequest('decision must be approve or reject');
      const comment = form.get('comment')?.trim() || undefined;
      const approvalId = form.get('approval') ?? '';
      return act(res, session, async () => {
        const record = await desk.decide(session, goal, approvalId, decision, comment);
        return `You ${decision === 'approve' ? 'approved' : 'rejected'} ${approvalId} of ${goal}; it is now ${record.status}.`;
      });
    }
    if (path === '/reply') {
      const questionId = form.get('question') ?? '';
      const answer = form.get('answer') ?? '';
      return act(res, session, async () => {
        await desk.reply(session, goal, questionId, answer);
        return `You answered ${questionId} of ${goal}.`;
      });
    }
    return sendHtml(res, 404, messagePage('Not found', path));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof BadRequest ? err.status : 500;
      const message =
        err instanceof BadRequest ? err.message : `gateway error: ${(err as Error).message.split('\n')[0]}`;
      if (status === 500) process.stderr.write(`[baton serve] ${(err as Error).stack ?? String(err)}\n`);
      if (res.headersSent) return void res.end();
      if (req.url?.startsWith('/api/')) sendJson(res, status, { error: message });
      else sendHtml(res, status, messagePage('Error', message));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
