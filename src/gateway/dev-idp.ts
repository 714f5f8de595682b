/**
 * The local identity provider of `baton dev` and the tests: the certified `oidc-provider` implementation of OpenID
 * Connect (authorization code with PKCE), with a login form and a few demo users. It is a real provider, for local
 * work only: demo passwords are printed at start, and it listens on loopback.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { escapeHtml, readForm } from './http.js';

/** A demo user: user name (the subject), display name and identity-provider groups. */
export interface DemoUser {
  name: string;
  displayName: string;
  groups: string[];
}

/** The demo users of `baton dev`: finance = alice, bob; finance-leads = carol; secops and analyst = sam. */
export const DEMO_USERS: DemoUser[] = [
  { name: 'alice', displayName: 'Alice Adams', groups: ['finance'] },
  { name: 'bob', displayName: 'Bob Brown', groups: ['finance'] },
  { name: 'carol', displayName: 'Carol Chen', groups: ['finance-leads'] },
  { name: 'sam', displayName: 'Sam Singh', groups: ['secops', 'analyst'] },
];

/** Every demo user's password. */
export const DEMO_PASSWORD = 'demo';

/** The client id the gateway registers with the dev provider (a public client: PKCE, no secret). */
export const DEV_CLIENT_ID = 'baton-gateway';

export interface DevIdentityProvider {
  issuer: string;
  close(): Promise<void>;
}

function loginPage(uid: string, error?: string): string {
  const users = DEMO_USERS.map((u) => `${u.name} (${u.groups.join(', ')})`).join(', ');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Sign in: Baton dev identity provider</title></head>
<body style="font-family: system-ui; max-width: 30rem; margin: 3rem auto">
<h1>Baton dev identity provider</h1>
<p>Local demo users: ${escapeHtml(users)}. Password: <code>${DEMO_PASSWORD}</code>.</p>
${error ? `<p role="alert" style="color: #b00">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>User <input name="login" autocomplete="username" autofocus required></label><br>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label><br>
<button type="submit">Sign in</button>
</form></body></html>`;
}

/**
 * Starts the provider on loopback.
 * @param redirectUris where the gateway receives the authorization code (its `/callback`)
 */
export async function startDevIdentityProvider(opts: {
  redirectUris: string[];
  port?: number;
  host?: string;
}): Promise<DevIdentityProvider> {
  const host = opts.host ?? '127.0.0.1';
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${host}:${port}`;
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const configuration: Configuration = {
    clients: [
      {
        client_id: DEV_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [{ ...signingKey, kid: 'dev-1', alg: 'ES256', use: 'sig' }] as never },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'groups'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, id) => {
      const user = DEMO_USERS.find((u) => u.name === id);
      if (!user) return undefined;
      return {
        accountId: user.name,
        claims: () => ({ sub: user.name, name: user.displayName, preferred_username: user.name, groups: user.groups }),
      };
    },
    // First-party client: the demo users consent once, implicitly, to the scopes the gateway asks for.
    loadExistingGrant: async (ctx) => {
      const { session, client, params } = ctx.oidc;
      if (!session?.accountId || !client) return undefined;
      const existing = session.grantIdFor(client.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(typeof params?.scope === 'string' ? params.scope : 'openid');
      await grant.save();
      return grant;
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Sign-in error</title><h1>Sign-in error</h1><p>${escapeHtml(String(out.error))}: ${escapeHtml(String(out.error_description ?? ''))}</p>`;
    },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  };
  const provider = new Provider(issuer, configuration);
  const oidc = provider.callback();

  const interaction = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'POST' && req.url?.endsWith('/login')) {
      const form = await readForm(req);
      const user = DEMO_USERS.find((u) => u.name === form.get('login'));
      if (!user || form.get('password') !== DEMO_PASSWORD) {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
        res.end(loginPage(details.uid, 'Unknown user or wrong password.'));
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.name } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid));
  };

  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(`sign-in failed: ${(err as Error).message}`);
      });
      return;
    }
    void oidc(req, res);
  });
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
