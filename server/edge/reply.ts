// How the edge answers a client: the upstream headers it repeats, its cache status, CORS, and the content-coding
// negotiated per client (a stored playlist is compressed at the edge; everything else is passed as upstream sent it).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CORS_HEADERS, isNotModified, sendEntity, sendNotModified, varyOnAcceptEncoding } from '../http/index.ts';
import type { ObjectKind } from './cache-key.ts';
import type { CachedObject } from './object-cache.ts';
import type { UpstreamHead } from './upstream.ts';

export type CacheStatus = 'HIT' | 'MISS' | 'COLLAPSED' | 'STALE';

/** Upstream headers repeated to clients; hop-by-hop headers, upstream CORS (the edge sets its own) and the rest stay behind. */
const PASSED_HEADERS = ['content-type', 'content-length', 'content-encoding', 'cache-control', 'etag', 'last-modified', 'expires', 'vary'];

export function passedHeaders(upstream: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (PASSED_HEADERS.includes(name)) headers[name] = value;
  }
  return headers;
}

/** The edge compresses uncompressed 200 playlists and digests itself: they arrive in one piece and shrink well. */
export function isCompressible(kind: ObjectKind, status: number, headers: Record<string, string>): boolean {
  return (kind === 'playlist' || kind === 'digests') && status === 200 && !headers['content-encoding'];
}

/**
 * Answers with a complete object (from the cache, or an upstream answer now whole) in the client's coding, with that
 * representation's ETag and a 304 when the client holds it. `gzipped` gives the compressed body, made once per object.
 * Returns the body bytes written.
 */
export function sendStored(req: IncomingMessage, res: ServerResponse, object: CachedObject, status: CacheStatus, gzipped: (() => Uint8Array) | undefined): number {
  const { etag, ...headers } = object.headers;
  return sendEntity(req, res, { status: object.status, headers: { ...headers, 'x-cache': status }, body: object.body, etag, gzipped });
}

/**
 * Writes the head of an answer passed on as upstream sends it (identity, or upstream's own coding). Returns whether
 * body bytes are to follow: not after a 304 (the client holds this representation) or for a HEAD.
 */
export function startStreamed(req: IncomingMessage, res: ServerResponse, head: UpstreamHead, status: CacheStatus, compressible: boolean): boolean {
  const headers: Record<string, string | number> = { ...passedHeaders(head.headers), ...CORS_HEADERS, 'x-cache': status };
  // Other clients of the same object may get it gzipped, so the identity answer varies on Accept-Encoding too.
  if (compressible) headers.vary = varyOnAcceptEncoding(head.headers.vary);
  const etag = head.headers.etag;
  if (head.status === 200 && etag !== undefined && isNotModified(req.headers, etag)) {
    sendNotModified(res, headers);
    return false;
  }
  res.writeHead(head.status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return false;
  }
  return true;
}
