/**
 * Rendering of the operator's request templates: `${secret:NAME}` / `${env:NAME}` references and `{{arg}}`
 * placeholders are found in the template text only, in one pass. Argument values are inserted afterwards as data,
 * escaped for where they land (URL path segment, query, header, JSON body) and never parsed for `${…}` or `{{…}}`,
 * so a model that sends `"${env:API_KEY}"` gets exactly that text sent, not the key.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Kinds of worker-side reference a template may hold. */
export type ReferenceKind = 'secret' | 'env';

/** Looks up a reference's value for this call (secrets are checked and recorded for scrubbing by the caller). */
export type ResolveReference = (kind: ReferenceKind, name: string) => string;

type Token =
  { kind: 'text'; text: string } | { kind: 'ref'; ref: ReferenceKind; name: string } | { kind: 'arg'; path: string };

const TOKEN = /\$\{(secret|env):([A-Za-z_][A-Za-z0-9_]*)\}|\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g;

/** Splits template text into literal text, references and placeholders. */
function tokenize(template: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  for (const m of template.matchAll(TOKEN)) {
    if (m.index > last) tokens.push({ kind: 'text', text: template.slice(last, m.index) });
    if (m[1] !== undefined && m[2] !== undefined) tokens.push({ kind: 'ref', ref: m[1] as ReferenceKind, name: m[2] });
    else tokens.push({ kind: 'arg', path: m[3]! });
    last = m.index + m[0].length;
  }
  if (last < template.length) tokens.push({ kind: 'text', text: template.slice(last) });
  return tokens;
}

/** Every `${kind:NAME}` a template text uses, for checks at validation time. */
export function referencesIn(template: string): { kind: ReferenceKind; name: string }[] {
  return tokenize(template).flatMap((t) => (t.kind === 'ref' ? [{ kind: t.ref, name: t.name }] : []));
}

function badArgument(owner: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'InvalidToolArguments',
    nonRetryable: true,
    message: `${owner}: ${message}`,
  });
}

function badTemplate(owner: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'InvalidToolTemplate',
    nonRetryable: true,
    message: `${owner}: ${message}`,
  });
}

function lookup(args: unknown, path: string): unknown {
  let value: unknown = args;
  for (const key of path.split('.')) {
    value =
      value && typeof value === 'object' && Object.hasOwn(value, key)
        ? (value as Record<string, unknown>)[key]
        : undefined;
  }
  return value;
}

function argText(args: unknown, path: string, owner: string): string {
  const value = lookup(args, path);
  if (value === undefined || value === null) throw badArgument(owner, `needs argument "${path}"`);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Where in a URL the rendered text so far ends: decides how the next argument is escaped. */
function urlPosition(prefix: string): 'origin' | 'path' | 'query' {
  const scheme = prefix.indexOf('://');
  if (scheme < 0) return 'origin';
  const rest = prefix.slice(scheme + 3);
  const cut = rest.search(/[/?#]/);
  if (cut < 0) return 'origin';
  return /[?#]/.test(rest) ? 'query' : 'path';
}

/**
 * Renders a URL template. An argument may not land in the scheme, host or port; in the path it must be one segment
 * (no `/`, `\`, `..`); everywhere it is percent-encoded. The result must parse as an http(s) URL; the error never
 * shows the resolved text (it may hold a secret), only the template.
 */
export function renderUrl(template: string, args: unknown, resolve: ResolveReference, owner: string): URL {
  let out = '';
  for (const token of tokenize(template)) {
    if (token.kind === 'text') out += token.text;
    else if (token.kind === 'ref') out += resolve(token.ref, token.name);
    else {
      const position = urlPosition(out);
      if (position === 'origin') {
        throw badTemplate(
          owner,
          `{{${token.path}}} sits in the URL's scheme, host or port; arguments may only fill the path or query`,
        );
      }
      const text = argText(args, token.path, owner);
      if (position === 'path' && (text === '' || text === '.' || /[/\\]|\.\./.test(text))) {
        throw badArgument(
          owner,
          `argument "${token.path}" must be a single path segment: no "/", "\\" or "..", and not empty`,
        );
      }
      out += encodeURIComponent(text);
    }
  }
  let url: URL;
  try {
    url = new URL(out);
  } catch {
    throw badTemplate(
      owner,
      `the URL template ${template} does not give a valid URL; check it and the values it references`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badTemplate(owner, `the URL template ${template} must give an http or https URL`);
  }
  if (url.username || url.password) {
    throw badTemplate(owner, `the URL template ${template} must not carry credentials in the URL; use a header`);
  }
  return url;
}

// Control characters would split a header or smuggle a second one.
function headerUnsafe(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** Renders a header value; an argument with a control character (CR, LF, NUL...) is refused. */
export function renderHeader(template: string, args: unknown, resolve: ResolveReference, owner: string): string {
  let out = '';
  for (const token of tokenize(template)) {
    if (token.kind === 'text') out += token.text;
    else if (token.kind === 'ref') out += resolve(token.ref, token.name);
    else {
      const text = argText(args, token.path, owner);
      if (headerUnsafe(text))
        throw badArgument(owner, `argument "${token.path}" has a control character, which a header cannot carry`);
      out += text;
    }
  }
  if (headerUnsafe(out))
    throw badTemplate(owner, 'a header value has a control character; check the references it uses');
  return out;
}

function renderBodyString(template: string, args: unknown, resolve: ResolveReference, owner: string): unknown {
  const tokens = tokenize(template);
  const only = tokens.length === 1 ? tokens[0] : undefined;
  // A lone {{arg}} keeps the argument's JSON type (a number stays a number).
  if (only?.kind === 'arg') {
    const value = lookup(args, only.path);
    if (value === undefined) throw badArgument(owner, `needs argument "${only.path}"`);
    return value;
  }
  return tokens
    .map((t) => (t.kind === 'text' ? t.text : t.kind === 'ref' ? resolve(t.ref, t.name) : argText(args, t.path, owner)))
    .join('');
}

/** Renders a JSON body template; values are placed in the structure, so JSON.stringify escapes them. */
export function renderBody(template: unknown, args: unknown, resolve: ResolveReference, owner: string): unknown {
  if (typeof template === 'string') return renderBodyString(template, args, resolve, owner);
  if (Array.isArray(template)) return template.map((t) => renderBody(t, args, resolve, owner));
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, renderBody(v, args, resolve, owner)]));
  }
  return template;
}
