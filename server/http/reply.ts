// Writing HTTP replies: plain-text errors, JSON and other small bodies, and entities negotiated per content-coding;
// every one carries the CORS headers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CORS_HEADERS } from './cors.ts';
import { log } from '../log.ts';
import { codingEtag, isNotModified, negotiateCoding, varyOnAcceptEncoding } from './encoding.ts';

/** A status and a short reason a person can read; never stored by a cache. */
export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = text.endsWith('\n') ? text : text + '\n';
  sendBody(res, status, 'text/plain; charset=utf-8', body, headers);
}

/**
 * The boundary of a route whose work failed unexpectedly: logs the error once as `event` with `fields`, then answers 500,
 * or cuts the connection when part of the reply is already out (a truncated body must not pass for a whole one).
 */
export function failInternal(res: ServerResponse, event: string, err: unknown, fields: Record<string, string> = {}): void {
  log('error', event, { ...fields, reason: err instanceof Error ? err.message : String(err) });
  if (!res.headersSent) sendText(res, 500, 'internal error');
  else res.destroy();
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendBody(res, status, 'application/json', JSON.stringify(value));
}

/** A small uncached body of `contentType`, such as health or metrics. */
export function sendBody(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    ...CORS_HEADERS,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** One resource as the server holds it, to be answered in the coding the client negotiates. */
export interface Entity {
  status: number;
  /** Headers of the reply other than its length, coding and ETag; lower-case names. */
  headers: Record<string, string | number>;
  /** The identity bytes. */
  body: Uint8Array;
  /** Strong ETag of the identity bytes; the gzip body's tag is derived from it. */
  etag?: string;
  /** The body gzipped, when it may be sent compressed; only called for a client that takes gzip. */
  gzipped?: () => Uint8Array;
}

/**
 * Answers with `entity` in the negotiated coding, its ETag naming that representation, Vary set when the bytes depend
 * on Accept-Encoding, and a 304 when the client already holds that representation. Returns the body bytes written
 * (0 for a 304 or a HEAD).
 */
export function sendEntity(req: IncomingMessage, res: ServerResponse, entity: Entity): number {
  if (res.headersSent || res.destroyed) return 0;
  const compressible = entity.gzipped !== undefined && entity.status === 200;
  const coding = compressible ? negotiateCoding(req.headers) : 'identity';
  const headers: Record<string, string | number> = { ...CORS_HEADERS, ...entity.headers };
  if (compressible) headers.vary = varyOnAcceptEncoding(stringOf(headers.vary));
  const etag = entity.etag === undefined ? undefined : codingEtag(entity.etag, coding);
  if (etag !== undefined) headers.etag = etag;
  if (etag !== undefined && entity.status === 200 && isNotModified(req.headers, etag)) {
    sendNotModified(res, headers);
    return 0;
  }
  const body = coding === 'gzip' ? entity.gzipped!() : entity.body;
  headers['content-length'] = body.byteLength;
  if (coding === 'gzip') headers['content-encoding'] = 'gzip';
  res.writeHead(entity.status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return 0;
  }
  res.end(body);
  return body.byteLength;
}

/** A 304: the headers the 200 would carry, less those describing a body it does not have. */
export function sendNotModified(res: ServerResponse, headers: Record<string, string | number>): void {
  const { 'content-type': _type, 'content-length': _length, 'content-encoding': _coding, ...notModified } = headers;
  res.writeHead(304, notModified);
  res.end();
}

function stringOf(value: string | number | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}
