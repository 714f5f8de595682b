/**
 * The egress guard as a WHATWG `fetch`, for clients that take one (the MCP SDK's Streamable HTTP transport): every
 * request, the first and each one after it (messages, the event stream, redirects the client follows, the session's
 * end) goes through `guardedRequest`, so a server's address is checked on each connection, not once. Redirects are
 * never followed here; the response is handed back as it is, body streamed, for the client to decide.
 */
import { Readable } from 'node:stream';
import { guardedRequest, type EgressPolicy } from './egress.js';

/** The shape of `fetch` the MCP SDK accepts. */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

const NO_BODY = new Set([204, 205, 304]);

function requestBody(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (body instanceof URLSearchParams) return body.toString();
  // Streams and forms are not what an MCP client sends; refusing them beats sending them half-checked.
  throw new TypeError('the egress-guarded fetch sends string or byte bodies only');
}

/** A `fetch` whose every request passes the egress guard of `policy`; refusals reject with `EgressDenied`. */
export function guardedWebFetch(policy: EgressPolicy): FetchLike {
  return async (input, init = {}) => {
    const url = new URL(input instanceof URL ? input.href : input);
    const method = (init.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const signal = init.signal ?? undefined;
    const res = await guardedRequest(url, method, headers, requestBody(init.body), signal, policy);
    const out = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) out.append(name, v);
      else if (value !== undefined) out.set(name, value);
    }
    const status = res.statusCode ?? 502;
    if (NO_BODY.has(status) || method === 'HEAD') {
      res.resume();
      return new Response(null, { status, statusText: res.statusMessage ?? '', headers: out });
    }
    const body = Readable.toWeb(res) as ReadableStream<Uint8Array>;
    return new Response(body, { status, statusText: res.statusMessage ?? '', headers: out });
  };
}
