/**
 * The codec server as the Web UI and the Temporal CLI reach it, over real HTTP on loopback: the static bearer token
 * and OIDC access tokens verified against a real JWKS (served on loopback, keys made with jose); the Host check that
 * defeats DNS rebinding in every mode; Origin; the body cap; plaintext payloads refused on decode.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmCodec, parseKeys } from '../src/codec/encryption.js';
import { REFUSED_PLAINTEXT, startCodecServer, type CodecServer } from '../src/codec/server.js';

const TOKEN = 'static-token-0123456789';
const ISSUER = 'https://idp.test/realms/baton';
const AUDIENCE = 'temporal-ui';
const codec = new AesGcmCodec(parseKeys(`k1=${randomBytes(32).toString('base64')}`));

let jwks: Server;
let jwksUrl: string;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;
let server: CodecServer;
let open: CodecServer;
let port: number;

/** POST with full control of the headers (fetch would not let a test forge Host). */
function post(
  base: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function accessToken(key: CryptoKey, claims: { iss?: string; aud?: string; exp?: string | number } = {}) {
  return new SignJWT({ scope: 'openid' })
    .setProtectedHeader({ alg: 'RS256', kid: key === signingKey ? 'idp-key-1' : 'stranger' })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? '5m')
    .sign(key);
}

const payloads = async () =>
  JSON.stringify({
    payloads: (await codec.encode([defaultPayloadConverter.toPayload({ prompt: 'refund c-42' })])).map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data!).toString('base64'),
    })),
  });

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/protocol/openid-connect/certs`;
  server = await startCodecServer({
    codec,
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    oidc: { jwksUrl, issuer: ISSUER, audience: AUDIENCE },
    origins: ['http://localhost:8233'],
    maxBodyBytes: 64 * 1024,
  });
  port = Number(new URL(server.url).port);
  open = await startCodecServer({ codec, host: '127.0.0.1', port: 0, origins: ['http://localhost:8233'] });
});

afterAll(async () => {
  await server?.close();
  await open?.close();
  jwks?.closeAllConnections();
  await new Promise((r) => jwks?.close(r));
});

describe('codec server', () => {
  it('decodes for the static token and for an OIDC access token from the JWKS; refuses other tokens', async () => {
    const body = await payloads();
    const withToken = await post(server.url, '/default/decode', body, { authorization: `Bearer ${TOKEN}` });
    expect(withToken.status).toBe(200);
    const oidc = await post(server.url, '/decode', body, { authorization: `Bearer ${await accessToken(signingKey)}` });
    expect(oidc.status).toBe(200);
    const [decoded] = (JSON.parse(oidc.body) as { payloads: { data: string }[] }).payloads;
    expect(JSON.parse(Buffer.from(decoded!.data, 'base64').toString())).toEqual({ prompt: 'refund c-42' });

    for (const token of [
      await accessToken(strangerKey), // signed by a key the JWKS does not hold
      await accessToken(signingKey, { iss: 'https://evil.test' }),
      await accessToken(signingKey, { aud: 'someone-else' }),
      await accessToken(signingKey, { exp: Math.floor(Date.now() / 1000) - 60 }),
      'not-a-jwt',
    ]) {
      const res = await post(server.url, '/decode', body, { authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
    }
    expect((await post(server.url, '/decode', body)).status).toBe(401);
  });

  it('refuses a Host it does not serve (DNS rebinding), with a token and in the token-less loopback mode', async () => {
    const body = await payloads();
    for (const [base, auth] of [
      [server.url, { authorization: `Bearer ${TOKEN}` }],
      [open.url, {}],
    ] as const) {
      const rebound = await post(base, '/decode', body, {
        ...auth,
        host: `rebind.attacker.example:${new URL(base).port}`,
      });
      expect(rebound.status).toBe(421);
      expect(rebound.body).not.toContain('refund c-42');
      const local = await post(base, '/decode', body, { ...auth, host: `localhost:${new URL(base).port}` });
      expect(local.status).toBe(200); // the check admits the loopback names it listens on
    }
  });

  it('refuses a browser Origin it does not know', async () => {
    const res = await post(server.url, '/decode', await payloads(), {
      authorization: `Bearer ${TOKEN}`,
      origin: 'http://rebind.attacker.example:8081',
    });
    expect(res.status).toBe(403);
    const ui = await post(server.url, '/decode', await payloads(), {
      authorization: `Bearer ${TOKEN}`,
      origin: 'http://localhost:8233',
    });
    expect(ui.status).toBe(200);
  });

  it('refuses a body over the cap, declared or streamed', async () => {
    const big = Buffer.alloc(200 * 1024, 'a');
    const declared = await post(server.url, '/decode', big, { authorization: `Bearer ${TOKEN}` });
    expect(declared.status).toBe(413);
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/decode`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i += 1) req.write(Buffer.alloc(32 * 1024, 'b'));
      req.end();
    });
    expect(streamed).toBe(413);
  });

  it('does not pass a plaintext payload through as decoded', async () => {
    const plain = defaultPayloadConverter.toPayload({ approvalId: 'apr-1', decision: 'approve' });
    const body = JSON.stringify({
      payloads: [
        {
          metadata: { encoding: Buffer.from(plain.metadata!.encoding!).toString('base64') },
          data: Buffer.from(plain.data!).toString('base64'),
        },
      ],
    });
    const res = await post(server.url, '/decode', body, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    const [out] = (JSON.parse(res.body) as { payloads: { data: string }[] }).payloads;
    expect(JSON.parse(Buffer.from(out!.data, 'base64').toString())).toBe(REFUSED_PLAINTEXT);
  });

  it('will not start where it would be reachable without authentication or without known names', async () => {
    await expect(startCodecServer({ codec, host: '0.0.0.0', port: 0, origins: [] })).rejects.toThrow(
      /needs authentication: set BATON_CODEC_TOKEN or BATON_CODEC_OIDC_JWKS_URL/,
    );
    await expect(startCodecServer({ codec, host: '0.0.0.0', port: 0, token: TOKEN, origins: [] })).rejects.toThrow(
      /set BATON_CODEC_HOSTS/,
    );
    expect(port).toBeGreaterThan(0);
  });
});
