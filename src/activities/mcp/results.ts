/**
 * What an MCP tool result becomes for the model: text as it is, structured content as JSON, resource links as
 * one line each, and images, audio and binary resources stored by reference in the worker's bounded blob store
 * (blobs.ts; the bytes never enter history).
 * The whole is cut to the tool's byte limit, like an http tool's response.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { BlobStore } from './blobs.js';

/** A stored piece of binary content, as the result names it. */
export interface Attachment {
  kind: 'image' | 'audio' | 'resource';
  mimeType: string;
  bytes: number;
  ref: string;
}

/** The model's view of one result, its attachments, and whether it was cut. */
export interface FormattedResult {
  output: string;
  attachments: Attachment[];
  truncated: boolean;
  isError: boolean;
}

function cut(text: string, maxBytes: number): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.byteLength <= maxBytes) return { text, truncated: false };
  return {
    text: bytes
      .subarray(0, maxBytes)
      .toString('utf8')
      .replace(/\uFFFD$/, ''),
    truncated: true,
  };
}

/** Renders a `tools/call` result; binary content goes to `blobs`. */
export async function formatResult(
  result: CallToolResult,
  maxBytes: number,
  blobs: BlobStore,
): Promise<FormattedResult> {
  const parts: string[] = [];
  const attachments: Attachment[] = [];
  const store = async (kind: Attachment['kind'], base64: string, mimeType: string, label: string): Promise<void> => {
    const data = Buffer.from(base64, 'base64');
    const stored = await blobs.put(data, mimeType);
    if ('notStored' in stored) {
      parts.push(`[${label}: ${mimeType}, ${data.byteLength} bytes, not stored: ${stored.notStored}]`);
      return;
    }
    attachments.push({ kind, mimeType, bytes: data.byteLength, ref: stored.ref });
    parts.push(`[${label}: ${mimeType}, ${data.byteLength} bytes, stored as ${stored.ref}]`);
  };
  for (const item of result.content ?? []) {
    switch (item.type) {
      case 'text':
        parts.push(item.text);
        break;
      case 'image':
        await store('image', item.data, item.mimeType, 'image');
        break;
      case 'audio':
        await store('audio', item.data, item.mimeType, 'audio');
        break;
      case 'resource_link':
        parts.push(
          `[resource link: ${item.name} ${item.uri}${item.mimeType ? ` (${item.mimeType})` : ''}${item.description ? ` - ${item.description}` : ''}]`,
        );
        break;
      case 'resource': {
        const r = item.resource;
        if ('text' in r && typeof r.text === 'string') parts.push(`[resource ${r.uri}]\n${r.text}`);
        else if ('blob' in r && typeof r.blob === 'string') {
          await store('resource', r.blob, r.mimeType ?? 'application/octet-stream', `resource ${r.uri}`);
        }
        break;
      }
      default:
        parts.push(`[content of type ${(item as { type: string }).type} left out]`);
    }
  }
  if (result.structuredContent !== undefined) {
    parts.push(`structured content: ${JSON.stringify(result.structuredContent)}`);
  }
  const isError = result.isError === true;
  const body = cut(parts.join('\n'), maxBytes);
  const head = `${isError ? 'error from the tool' : 'result'}${body.truncated ? ` (truncated to ${maxBytes} bytes)` : ''}`;
  return { output: `${head}\n${body.text}`, attachments, truncated: body.truncated, isError };
}
