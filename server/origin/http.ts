// HTTP surface of the origin under /live/: playlists (with blocking reload), init segments, parts and segments, with CDN-friendly headers.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type Router from 'find-my-way';
import { log } from '../log.ts';
import { assertWithinReach, blockingRequestOf, isSatisfied, parseDeliveryDirectives } from './blocking-reload.ts';
import type { BlockingRequest, DeliveryDirectives } from './blocking-reload.ts';
import { targetDurationS } from './config.ts';
import { OriginError } from './errors.ts';
import type { LiveStream } from './live-stream.ts';
import { MEDIA_PLAYLIST, MULTIVARIANT_PLAYLIST, PLAYBACK_PREFIX, parseObjectName } from '../../shared/playback-path.ts';
import type { Origin } from './origin.ts';
import { renderMediaPlaylist, type RenderOptions } from './playlist/render-media.ts';
import { renderMultivariantPlaylist } from './playlist/render-multivariant.ts';
import type { RenditionTimeline } from './rendition-timeline.ts';

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
// One type for init, parts and segments: all are ISO BMFF, and edges and CDNs already know `video/mp4` (video/iso.segment is not in their type maps).
const MEDIA_TYPE = 'video/mp4';
const IMMUTABLE = 'public, max-age=31536000, immutable';
// A plain reload must show the live edge now: a CDN may keep the copy but revalidates it (a 304 thanks to the ETag)
// on every request, where even max-age=1 would start a player up to a second behind the edge.
const LIVE_PLAYLIST_CACHE = 'no-cache';
// The multivariant playlist only changes when a rendition appears, so a CDN may answer it alone for a moment.
const MULTIVARIANT_CACHE = 'public, max-age=2';

/**
 * A blocking reload URL names one msn/part, so every answer to it holds that part and serves any client asking for it;
 * it is worth keeping only while that part is still listed, which is three target durations (parts older than that
 * leave the playlist), hence max-age = 3 × target duration.
 */
function blockingPlaylistCache(origin: Origin): string {
  return `public, max-age=${3 * targetDurationS(origin.config)}`;
}

type Request = IncomingMessage;
type Response = ServerResponse;

/** Adds GET and HEAD routes for `/live/NAME/index.m3u8` and `/live/NAME/REND/…` (plus CORS preflight). */
export function registerOriginRoutes(router: Router.Instance<Router.HTTPVersion.V1>, origin: Origin): void {
  router.on(['GET', 'HEAD'], `${PLAYBACK_PREFIX}:name/${MULTIVARIANT_PLAYLIST}`, (req, res, params) => {
    serveMultivariant(origin, params.name ?? '', req, res);
  });
  router.on(['GET', 'HEAD'], `${PLAYBACK_PREFIX}:name/:rendition/:object`, (req, res, params) => {
    const name = params.name ?? '';
    const rendition = params.rendition ?? '';
    const object = params.object ?? '';
    serveRenditionObject(origin, name, rendition, object, req, res).catch((err: unknown) => {
      log('error', 'origin.http-error', { stream: name, rendition, object, reason: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    });
  });
  router.on('OPTIONS', `${PLAYBACK_PREFIX}*`, (req, res) => {
    res.writeHead(204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, HEAD',
      'Access-Control-Max-Age': '86400',
    });
    res.end();
  });
}

function serveMultivariant(origin: Origin, name: string, req: Request, res: Response): void {
  const stream = origin.get(name);
  if (!stream) return sendText(res, 404, `unknown stream ${name}`);
  const variants = stream.variants();
  if (variants.length === 0) return sendText(res, 404, `stream ${name} has no media yet`);
  sendPlaylist(req, res, MULTIVARIANT_CACHE, renderMultivariantPlaylist(variants));
}

async function serveRenditionObject(origin: Origin, name: string, rendition: string, object: string, req: Request, res: Response): Promise<void> {
  const stream = origin.get(name);
  if (!stream) return sendText(res, 404, `unknown stream ${name}`);
  const timeline = stream.rendition(rendition);
  if (!timeline) return sendText(res, 404, `unknown rendition ${rendition} of ${name}`);
  if (object === MEDIA_PLAYLIST) return serveMediaPlaylist(origin, stream, timeline, req, res);
  const parsed = parseObjectName(object);
  if (!parsed) return sendText(res, 404, `unknown object ${object}`);
  if (parsed.epoch !== stream.epoch) return sendText(res, 404, `${object} belongs to an earlier publish of ${name}`);
  switch (parsed.kind) {
    case 'init': {
      const init = timeline.init;
      if (!init) return sendText(res, 404, `no init segment yet for ${rendition}`);
      return sendObject(req, res, object, init.data);
    }
    case 'segment': {
      const data = timeline.segment(parsed.msn);
      if (!data) return sendText(res, 404, `segment ${parsed.msn} is not available`);
      return sendObject(req, res, object, data);
    }
    case 'part':
      return servePart(origin, timeline, parsed.msn, parsed.partIndex, object, req, res);
  }
}

async function serveMediaPlaylist(origin: Origin, stream: LiveStream, timeline: RenditionTimeline, req: Request, res: Response): Promise<void> {
  let directives: DeliveryDirectives;
  let request: BlockingRequest | null;
  try {
    directives = parseDeliveryDirectives(queryOf(req), stream.name);
    request = blockingRequestOf(directives);
    if (request) assertWithinReach(request, timeline.liveEdge(), origin.config, stream.name);
  } catch (err) {
    if (err instanceof OriginError) return sendText(res, err.status, err.message);
    throw err;
  }
  const options: RenderOptions = directives.skip ? { skip: directives.skip } : {};
  // The rendition reports are taken in the same tick as the playlist, so both show one moment of the stream.
  const render = (): string => {
    const snapshot = timeline.snapshot();
    snapshot.renditionReports = stream.renditionReports(timeline);
    return renderMediaPlaylist(snapshot, options);
  };
  const notReady = `rendition ${timeline.rendition} of ${stream.name} has no media yet`;
  if (!request) {
    if (!timeline.ready) return sendText(res, 404, notReady);
    return sendPlaylist(req, res, LIVE_PLAYLIST_CACHE, render());
  }
  const wanted = request;
  const outcome = await timeline.waitUntil(
    () => timeline.ready && isSatisfied(wanted, timeline.liveEdge()),
    origin.config.blockingTimeoutMs,
    abortSignalOf(res),
  );
  switch (outcome) {
    case 'ready':
    case 'ended':
      if (!timeline.ready) return sendText(res, 404, notReady);
      return sendPlaylist(req, res, blockingPlaylistCache(origin), render());
    case 'timeout':
      return sendText(res, 503, `playlist did not reach msn ${wanted.msn}${wanted.part === undefined ? '' : ` part ${wanted.part}`} in time`);
    case 'closed':
      return sendText(res, 503, `stream ${stream.name} closed`);
    case 'aborted':
      return;
  }
}

/**
 * Serves a part. A complete one is an immutable object; the part in production, or the hinted one once it starts
 * (held until then, sharing blocking reload's bounded wait), is streamed chunk by chunk as the packager writes it.
 */
async function servePart(origin: Origin, timeline: RenditionTimeline, msn: number, partIndex: number, object: string, req: Request, res: Response): Promise<void> {
  const existing = timeline.part(msn, partIndex);
  if (existing) return sendObject(req, res, object, existing);
  if (!timeline.producing(msn, partIndex)) {
    const hint = timeline.preloadHint();
    if (!hint || hint.msn !== msn || hint.partIndex !== partIndex) return sendText(res, 404, `part ${msn}.${partIndex} is not available`);
    // Also stop waiting when a later part lands: the segment was cut before the hinted part, which then never exists.
    const outcome = await timeline.waitUntil(
      () => timeline.producing(msn, partIndex) || isSatisfied({ msn, part: partIndex }, timeline.liveEdge()),
      origin.config.blockingTimeoutMs,
      abortSignalOf(res),
    );
    if (outcome === 'aborted') return;
    if (outcome === 'timeout' || outcome === 'closed') return sendText(res, 503, `part ${msn}.${partIndex} did not arrive in time`);
    // The part may have completed while this request was being woken up.
    const data = timeline.part(msn, partIndex);
    if (data) return sendObject(req, res, object, data);
    if (!timeline.producing(msn, partIndex)) return sendText(res, 404, `part ${msn}.${partIndex} was not produced`);
  }
  streamPart(timeline, msn, partIndex, req, res);
}

/**
 * Answers with the part in production: the chunks written so far at once, then each one as it is written, ending
 * with the part (chunked transfer: the length is not known yet). Every reader writes the timeline's own chunk
 * buffers. Never compressed: the media does not shrink and a compressor would hold bytes back.
 */
function streamPart(timeline: RenditionTimeline, msn: number, partIndex: number, req: Request, res: Response): void {
  res.writeHead(200, { 'Content-Type': MEDIA_TYPE, 'Cache-Control': IMMUTABLE, 'Access-Control-Allow-Origin': '*' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.flushHeaders();
  const stop = timeline.followPart(msn, partIndex, {
    chunk: (data) => res.write(data),
    end: () => res.end(),
    abort: (reason) => {
      // Cut the connection without the final empty chunk, so neither client nor cache takes the bytes for a whole part.
      log('warn', 'origin.part-abandoned', { stream: timeline.streamName, rendition: timeline.rendition, msn, partIndex, reason });
      res.destroy();
    },
  });
  if (stop) res.once('close', stop);
  else res.destroy();
}

function queryOf(req: Request): URLSearchParams {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}

/** Aborts when the client goes away before its answer is written, so a held request does not outlive its socket. */
function abortSignalOf(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableEnded) controller.abort();
  });
  return controller.signal;
}

function sendObject(req: Request, res: Response, object: string, data: Uint8Array): void {
  // Object names are unique per publish and never rewritten, so the name and size identify the bytes.
  const etag = `"${object}-${data.byteLength}"`;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { ETag: etag, 'Cache-Control': IMMUTABLE, 'Access-Control-Allow-Origin': '*' });
    res.end();
    return;
  }
  res.writeHead(200, {
    'Content-Type': MEDIA_TYPE,
    'Content-Length': data.byteLength,
    'Cache-Control': IMMUTABLE,
    ETag: etag,
    'Access-Control-Allow-Origin': '*',
  });
  res.end(res.req.method === 'HEAD' ? undefined : data);
}

/**
 * Sends a playlist with an ETag of its text (a 304 when the client has it) and gzip when the client accepts it;
 * the two encodings get different ETags, as they are different bytes.
 */
function sendPlaylist(req: Request, res: Response, cacheControl: string, body: string): void {
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const hash = createHash('sha1').update(body).digest('base64url').slice(0, 20);
  const etag = gzip ? `"${hash}-gz"` : `"${hash}"`;
  const headers: Record<string, string | number> = {
    'Cache-Control': cacheControl,
    ETag: etag,
    Vary: 'Accept-Encoding',
    'Access-Control-Allow-Origin': '*',
  };
  if (matchesEtag(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const bytes = gzip ? gzipSync(body) : Buffer.from(body, 'utf8');
  res.writeHead(200, {
    ...headers,
    'Content-Type': PLAYLIST_TYPE,
    'Content-Length': bytes.byteLength,
    ...(gzip && { 'Content-Encoding': 'gzip' }),
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Whether an Accept-Encoding header allows gzip (by name or `*`) with a non-zero quality. */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let gzip: number | undefined;
  let any: number | undefined;
  for (const item of header.split(',')) {
    const [coding = '', ...params] = item.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    if (coding.trim() === 'gzip') gzip = quality;
    else if (coding.trim() === '*') any = quality;
  }
  return (gzip ?? any ?? 0) > 0;
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

function send(res: Response, status: number, contentType: string, cacheControl: string, body: string): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': bytes.byteLength,
    'Cache-Control': cacheControl,
    'Access-Control-Allow-Origin': '*',
  });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

function sendText(res: Response, status: number, reason: string): void {
  send(res, status, 'text/plain; charset=utf-8', 'no-cache', reason + '\n');
}
