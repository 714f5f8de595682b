/**
 * The pieces under the tool activity, without a server: the worker's access map as operators write it
 * (BATON_SECRETS, BATON_TOOL_ENV, BATON_EGRESS_ALLOW), the secret resolver's three checks and its scrubbing, the
 * template renderer's position-aware escaping, the address classes the egress guard refuses, and the webhook
 * signature a receiver verifies (old and repeated deliveries refused).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isNonPublicAddress } from '../src/activities/egress.js';
import { SecretResolver, type ToolAccess } from '../src/activities/secrets.js';
import { renderBody, renderHeader, renderUrl, type ResolveReference } from '../src/activities/templates.js';
import { rememberDelivery, signDelivery, verifyDelivery } from '../src/activities/webhook-signature.js';
import { ConfigError } from '../src/config.js';
import { loadToolAccess } from '../src/tool-access-config.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the worker access map (config)', () => {
  it('reads secrets by source and tool, settings by name, and allowed hosts by caller', () => {
    const access = loadToolAccess({
      BATON_SECRETS:
        'CRM_TOKEN, PAY=env:PAYMENTS_KEY@issue_refund+refund-request/lookup, HOOK=file:/run/s/hook@webhook',
      BATON_TOOL_ENV: 'CRM_URL, MISSING_URL',
      CRM_URL: 'https://crm.example.com',
      BATON_EGRESS_ALLOW: 'lookup=10.0.0.5:8080, *=crm.internal, webhook=[::1]:9000',
    });
    expect(access.secrets).toEqual({
      CRM_TOKEN: { source: { env: 'CRM_TOKEN' } },
      PAY: { source: { env: 'PAYMENTS_KEY' }, tools: ['issue_refund', 'refund-request/lookup'] },
      HOOK: { source: { file: '/run/s/hook' }, tools: ['webhook'] },
    });
    expect(access.settings).toEqual({ CRM_URL: 'https://crm.example.com' });
    expect(access.hosts).toEqual({ lookup: ['10.0.0.5:8080'], '*': ['crm.internal'], webhook: ['[::1]:9000'] });
  });

  it('names the entry and the fix when a setting is malformed, without echoing values', () => {
    expect(() => loadToolAccess({ BATON_SECRETS: 'bad-name=env:X' })).toThrow(ConfigError);
    expect(() => loadToolAccess({ BATON_SECRETS: 'A=env:not a var' })).toThrow(/not an environment variable name/);
    expect(() => loadToolAccess({ BATON_SECRETS: 'A@Bad Tool' })).toThrow(/"Bad Tool" is not a tool/);
    expect(() => loadToolAccess({ BATON_SECRETS: 'A', BATON_TOOL_ENV: 'A' })).toThrow(/one or the other/);
    expect(() => loadToolAccess({ BATON_EGRESS_ALLOW: 'crm.internal' })).toThrow(/use tool=host\[:port\]/);
    expect(() => loadToolAccess({ BATON_SECRETS: 'KEYS=env:BATON_ENCRYPTION_KEYS' })).toThrow(
      /worker's own credential/,
    );
    expect(() => loadToolAccess({ BATON_SECRETS: 'TEMPORAL_API_KEY' })).toThrow(/worker's own credential/);
    expect(() => loadToolAccess({ BATON_TOOL_ENV: 'OPENAI_API_KEY' })).toThrow(/worker's own credential/);
  });
});

describe('the secret resolver', () => {
  const file = join(dir, 'hook_key');
  writeFileSync(file, 'file-secret-value\n');
  const access: ToolAccess = {
    secrets: {
      CRM: { source: { env: 'CRM_VAR' } },
      ONLY_REFUND: { source: { value: 'refund-only-secret' }, tools: ['issue_refund'] },
      HOOK: { source: { file } },
      SHORT: { source: { value: 'abc' } },
    },
    settings: { BASE: 'https://api.example.com' },
    hosts: {},
  };
  const resolver = new SecretResolver(access, { CRM_VAR: 'crm/secret value', OTHER: 'not mapped' });
  const call = (tool: string, declared: string[]) =>
    resolver.forCall({ label: `tool ${tool}`, keys: [tool, `bp/${tool}`], declared });

  it('gives a declared, mapped secret to the tools it is mapped for, and nothing else', () => {
    expect(call('lookup', ['CRM']).resolve('secret', 'CRM')).toBe('crm/secret value');
    expect(call('lookup', ['HOOK']).secret('HOOK')).toBe('file-secret-value');
    expect(call('issue_refund', ['ONLY_REFUND']).secret('ONLY_REFUND')).toBe('refund-only-secret');
    expect(() => call('lookup', []).secret('CRM')).toThrow(/without declaring it: add it to the tool's secrets/);
    expect(() => call('lookup', ['ONLY_REFUND']).secret('ONLY_REFUND')).toThrow(/maps it for issue_refund only/);
    expect(() => call('lookup', ['OTHER']).secret('OTHER')).toThrow(/does not map: add OTHER to BATON_SECRETS/);
    expect(() => call('lookup', ['SHORT']).secret('SHORT')).toThrow(/shorter than 4 characters/);
    expect(call('lookup', []).resolve('env', 'BASE')).toBe('https://api.example.com');
    expect(() => call('lookup', []).resolve('env', 'OTHER')).toThrow(/does not offer: list OTHER in BATON_TOOL_ENV/);
    expect(() => call('lookup', []).resolve('env', 'CRM')).toThrow(/CRM is a secret: reference it as \$\{secret:CRM\}/);
  });

  it('scrubs what a call read: as sent, URL-encoded and JSON-escaped; nothing it did not read', () => {
    const c = call('lookup', ['CRM']);
    expect(c.scrub('crm/secret value')).toBe('crm/secret value'); // not read yet: nothing to scrub
    c.secret('CRM');
    const text = `a crm/secret value b ${encodeURIComponent('crm/secret value')} c ${JSON.stringify({ k: 'crm/secret value' })}`;
    expect(c.scrub(text)).toBe('a [secret CRM] b [secret CRM] c {"k":"[secret CRM]"}');
  });
});

describe('templates', () => {
  const refs: ResolveReference = (kind, name) =>
    kind === 'env' && name === 'API' ? 'https://api.example.com' : 'SECRET';

  it('resolve references in the template only, and insert arguments as escaped data', () => {
    const url = renderUrl(
      '${env:API}/items/{{id}}?q={{q}}&t=${secret:T}',
      { id: '${env:API}', q: 'a&b={{id}}' },
      refs,
      't',
    );
    expect(url.href).toBe(
      `https://api.example.com/items/${encodeURIComponent('${env:API}')}?q=${encodeURIComponent('a&b={{id}}')}&t=SECRET`,
    );
    expect(renderHeader('Bearer ${secret:T} {{who}}', { who: '${secret:T}' }, refs, 't')).toBe(
      'Bearer SECRET ${secret:T}',
    );
    expect(renderBody({ n: '{{n}}', s: 'x {{s}}', k: '${secret:T}' }, { n: 5, s: '"}{' }, refs, 't')).toEqual({
      n: 5,
      s: 'x "}{',
      k: 'SECRET',
    });
  });

  it('refuse path traversal, arguments in the origin, header injection and URLs that do not parse', () => {
    for (const id of ['..', '.', '', 'a/b', '..%2f', 'a\\b', '../x']) {
      expect(() => renderUrl('https://h/items/{{id}}', { id }, refs, 't'), id).toThrow(/single path segment/);
    }
    expect(() => renderUrl('https://{{host}}/x', { host: 'evil.example' }, refs, 't')).toThrow(/scheme, host or port/);
    expect(() => renderUrl('https://h:{{port}}/x', { port: 1 }, refs, 't')).toThrow(/scheme, host or port/);
    expect(() => renderHeader('x {{v}}', { v: 'a\r\nX-Evil: 1' }, refs, 't')).toThrow(/control character/);
    expect(() => renderUrl('http://[${secret:T}/x', {}, refs, 't')).toThrow(
      /http:\/\/\[\$\{secret:T\}\/x does not give/,
    );
    expect(() => renderUrl('file:///etc/passwd', {}, refs, 't')).toThrow(/http or https/);
    expect(() => renderUrl('https://u:${secret:T}@h/', {}, refs, 't')).toThrow(/credentials in the URL/);
  });
});

describe('the egress guard', () => {
  it('classes loopback, private, link-local and their disguises as non-public', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '100.64.0.1',
    ]) {
      expect(isNonPublicAddress(a), a).toBe(true);
    }
    for (const a of [
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::7f00:1',
    ]) {
      expect(isNonPublicAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) expect(isNonPublicAddress(a), a).toBe(false);
  });
});

describe('webhook signatures', () => {
  it('verify the key id, the signature over timestamp, delivery and body, the window, and refuse repeats', () => {
    const body = Buffer.from('{"event":"approval.opened"}');
    const now = Date.parse('2026-11-27T05:00:00Z');
    const headers = signDelivery(body.toString(), 'goal-1/run/notify-1', 'old-key-0123', now);
    const state = { keys: ['new-key-4567', 'old-key-0123'], seen: new Map<string, number>() };
    expect(verifyDelivery(body, headers, state, now + 1000)).toEqual({ ok: true, delivery: 'goal-1/run/notify-1' });
    expect(verifyDelivery(Buffer.from('{"event":"approval.decided"}'), headers, state, now)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    const moved = { ...headers, 'x-baton-delivery': 'goal-2/run/notify-1' };
    expect(verifyDelivery(body, moved, state, now)).toMatchObject({ reason: 'bad-signature' });
    expect(verifyDelivery(body, headers, state, now + 6 * 60_000)).toMatchObject({ reason: 'stale' });
    expect(verifyDelivery(body, headers, { ...state, keys: ['new-key-4567'] }, now)).toMatchObject({
      reason: 'unknown-key',
    });
    rememberDelivery(state, 'goal-1/run/notify-1', now);
    expect(verifyDelivery(body, headers, state, now + 2000)).toMatchObject({ reason: 'repeated' });
    expect(verifyDelivery(body, {}, state, now)).toMatchObject({ reason: 'unsigned' });
  });
});
