// What the origin says about each kind of object it serves: content type, how long a CDN may keep it, its ETag.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { etagOf, gzip, sendEntity } from '../http/index.ts';
import { targetDurationS, type OriginConfig } from './config.ts';

export const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
// One type for init, parts and segments: all are ISO BMFF, and edges and CDNs already know `video/mp4` (video/iso.segment is not in their type maps).
export const MEDIA_TYPE = 'video/mp4';
export const IMMUTABLE = 'public, max-age=31536000, immutable';
// A plain reload must show the live edge now: a CDN may keep the copy but revalidates it (a 304 thanks to the ETag)
// on every request, where even max-age=1 would start a player up to a second behind the edge.
export const LIVE_PLAYLIST_CACHE = 'no-cache';
// The multivariant playlist only changes when a rendition appears, so a CDN may answer it alone for a moment.
export const MULTIVARIANT_CACHE = 'public, max-age=2';
/**
 * digests.json gains an entry per segment and players read it several segments behind the live edge, where a copy a
 * second old already lists what they check (a player that misses a segment in it reads it again); one second is the
 * shortest lifetime every cache can express, and bounds what reaches the origin to one request per rendition per
 * second per cache.
 */
export const DIGESTS_CACHE = 'public, max-age=1';

/**
 * A blocking reload URL names one msn/part, so every answer to it holds that part and serves any client asking for it;
 * it is worth keeping only while that part is still listed, which is three target durations (parts older than that
 * leave the playlist), hence max-age = 3 × target duration.
 */
export function blockingPlaylistCache(config: Pick<OriginConfig, 'segmentTargetMs'>): string {
  return `public, max-age=${3 * targetDurationS(config)}`;
}

/** A playlist, gzipped for clients that take it, with an ETag of its text (a 304 when the client has it). */
export function sendPlaylist(req: IncomingMessage, res: ServerResponse, cacheControl: string, text: string): void {
  const body = Buffer.from(text, 'utf8');
  sendEntity(req, res, {
    status: 200,
    headers: { 'content-type': PLAYLIST_TYPE, 'cache-control': cacheControl },
    body,
    etag: etagOf(body),
    gzipped: () => gzip(body),
  });
}

/** A rendition's digests.json, gzipped for clients that take it, with an ETag of its text. */
export function sendDigests(req: IncomingMessage, res: ServerResponse, json: string): void {
  const body = Buffer.from(json, 'utf8');
  sendEntity(req, res, {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': DIGESTS_CACHE },
    body,
    etag: etagOf(body),
    gzipped: () => gzip(body),
  });
}

/**
 * A media key (16 bytes), cacheable by edges like a segment: an edge checks each viewer's playback token before it
 * answers from its cache (whose key carries no token), so 1,000 viewers make one upstream request per key, and the key
 * never changes under its name (the epoch and key period are in it).
 */
export function sendMediaKey(req: IncomingMessage, res: ServerResponse, object: string, key: Uint8Array): void {
  sendEntity(req, res, {
    status: 200,
    headers: { 'content-type': 'application/octet-stream', 'cache-control': IMMUTABLE },
    body: key,
    etag: `"${object}"`,
  });
}

/** A complete media object; never compressed, as media does not shrink. */
export function sendMediaObject(req: IncomingMessage, res: ServerResponse, object: string, data: Uint8Array): void {
  sendEntity(req, res, {
    status: 200,
    headers: { 'content-type': MEDIA_TYPE, 'cache-control': IMMUTABLE },
    body: data,
    // Object names are unique per publish and never rewritten, so the name and size identify the bytes.
    etag: `"${object}-${data.byteLength}"`,
  });
}
