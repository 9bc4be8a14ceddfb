// Content-coding of a reply: Accept-Encoding negotiation (negotiator), ETags per representation (etag), and
// conditional requests (fresh), so the origin and the edge agree on which bytes an ETag names.
import type { IncomingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import etag from 'etag';
import fresh from 'fresh';
import Negotiator from 'negotiator';
import vary from 'vary';

export type ContentCoding = 'gzip' | 'identity';

// Listed in the server's order of preference, which breaks ties between equal client q-values.
const OFFERED: readonly ContentCoding[] = ['gzip', 'identity'];

/**
 * The coding to answer a client with: the one it rates highest among gzip and identity (q-values honoured, `gzip;q=0`
 * refuses gzip). A client refusing both (`identity;q=0` without gzip) still gets identity, as RFC 9110 §12.5.3 allows.
 */
export function negotiateCoding(headers: IncomingHttpHeaders): ContentCoding {
  const coding = new Negotiator({ headers }).encoding(OFFERED);
  return coding === 'gzip' ? 'gzip' : 'identity';
}

/** A strong ETag of the identity bytes (length and hash). */
export function etagOf(body: Uint8Array | string): string {
  return etag(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

/**
 * The ETag of one representation: a gzip body is other bytes than the identity body, so its tag differs (RFC 9110
 * §8.8.3); `"abc"` becomes `"abc-gzip"`. Derived from the identity tag, so every server that compresses the same
 * identity body (origin or edge) names the gzip body alike.
 */
export function codingEtag(identityEtag: string, coding: ContentCoding): string {
  if (coding === 'identity') return identityEtag;
  return identityEtag.endsWith('"') ? `${identityEtag.slice(0, -1)}-gzip"` : `${identityEtag}-gzip`;
}

/**
 * Whether the client's copy (If-None-Match, weak comparison) is the representation tagged `etag`, so a 304 answers it.
 * Only If-None-Match is handed to `fresh`: these servers hold the current bytes, so a request's `Cache-Control:
 * no-cache` (which fetch() adds to every conditional request) is already honoured by comparing with them.
 */
export function isNotModified(requestHeaders: IncomingHttpHeaders, etag: string): boolean {
  const ifNoneMatch = requestHeaders['if-none-match'];
  return ifNoneMatch !== undefined && fresh({ 'if-none-match': ifNoneMatch }, { etag });
}

/** Adds Accept-Encoding to a Vary header value (once), for replies whose bytes depend on it. */
export function varyOnAcceptEncoding(header: string | undefined): string {
  return vary.append(header ?? '', 'Accept-Encoding');
}

export function gzip(body: Uint8Array): Buffer {
  return gzipSync(body);
}
