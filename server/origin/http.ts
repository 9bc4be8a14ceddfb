// HTTP surface of the origin under /live/: playlists (with blocking reload), init segments, parts and segments, with CDN-friendly headers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Router from 'find-my-way';
import { log } from '../log.ts';
import { assertWithinReach, blockingRequestOf, isSatisfied, parseDeliveryDirectives } from './blocking-reload.ts';
import type { BlockingRequest } from './blocking-reload.ts';
import { OriginError } from './errors.ts';
import type { LiveStream } from './live-stream.ts';
import { parseObjectName } from './object-names.ts';
import type { Origin } from './origin.ts';
import { renderMediaPlaylist } from './playlist/render-media.ts';
import { renderMultivariantPlaylist } from './playlist/render-multivariant.ts';
import type { RenditionTimeline } from './rendition-timeline.ts';

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
// One type for init, parts and segments: all are ISO BMFF, and edges and CDNs already know `video/mp4` (video/iso.segment is not in their type maps).
const MEDIA_TYPE = 'video/mp4';
const IMMUTABLE = 'public, max-age=31536000, immutable';
// A blocking reload URL names one msn/part, so its answer never changes once given; short enough for a CDN to drop it soon.
const BLOCKING_PLAYLIST_CACHE = 'public, max-age=6';
const LIVE_PLAYLIST_CACHE = 'no-cache';

type Request = IncomingMessage;
type Response = ServerResponse;

/** Adds GET and HEAD routes for `/live/NAME/index.m3u8` and `/live/NAME/REND/…` (plus CORS preflight). */
export function registerOriginRoutes(router: Router.Instance<Router.HTTPVersion.V1>, origin: Origin): void {
  router.on(['GET', 'HEAD'], '/live/:name/index.m3u8', (req, res, params) => {
    serveMultivariant(origin, params.name ?? '', res);
  });
  router.on(['GET', 'HEAD'], '/live/:name/:rendition/:object', (req, res, params) => {
    const name = params.name ?? '';
    const rendition = params.rendition ?? '';
    const object = params.object ?? '';
    serveRenditionObject(origin, name, rendition, object, req, res).catch((err: unknown) => {
      log('error', 'origin.http-error', { stream: name, rendition, object, reason: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    });
  });
  router.on('OPTIONS', '/live/*', (req, res) => {
    res.writeHead(204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, HEAD',
      'Access-Control-Max-Age': '86400',
    });
    res.end();
  });
}

function serveMultivariant(origin: Origin, name: string, res: Response): void {
  const stream = origin.get(name);
  if (!stream) return sendText(res, 404, `unknown stream ${name}`);
  const variants = stream.variants();
  if (variants.length === 0) return sendText(res, 404, `stream ${name} has no media yet`);
  send(res, 200, PLAYLIST_TYPE, LIVE_PLAYLIST_CACHE, renderMultivariantPlaylist(variants));
}

async function serveRenditionObject(origin: Origin, name: string, rendition: string, object: string, req: Request, res: Response): Promise<void> {
  const stream = origin.get(name);
  if (!stream) return sendText(res, 404, `unknown stream ${name}`);
  const timeline = stream.rendition(rendition);
  if (!timeline) return sendText(res, 404, `unknown rendition ${rendition} of ${name}`);
  if (object === 'media.m3u8') return serveMediaPlaylist(origin, stream, timeline, req, res);
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
  let request: BlockingRequest | null;
  try {
    request = blockingRequestOf(parseDeliveryDirectives(queryOf(req), stream.name));
    if (request) assertWithinReach(request, timeline.liveEdge(), origin.config, stream.name);
  } catch (err) {
    if (err instanceof OriginError) return sendText(res, err.status, err.message);
    throw err;
  }
  const notReady = `rendition ${timeline.rendition} of ${stream.name} has no media yet`;
  if (!request) {
    if (!timeline.ready) return sendText(res, 404, notReady);
    return send(res, 200, PLAYLIST_TYPE, LIVE_PLAYLIST_CACHE, renderMediaPlaylist(timeline.snapshot()));
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
      return send(res, 200, PLAYLIST_TYPE, BLOCKING_PLAYLIST_CACHE, renderMediaPlaylist(timeline.snapshot()));
    case 'timeout':
      return sendText(res, 503, `playlist did not reach msn ${wanted.msn}${wanted.part === undefined ? '' : ` part ${wanted.part}`} in time`);
    case 'closed':
      return sendText(res, 503, `stream ${stream.name} closed`);
    case 'aborted':
      return;
  }
}

/** Serves a part; the hinted next part is held until it lands (the waiting is shared with blocking reload). */
async function servePart(origin: Origin, timeline: RenditionTimeline, msn: number, partIndex: number, object: string, req: Request, res: Response): Promise<void> {
  const existing = timeline.part(msn, partIndex);
  if (existing) return sendObject(req, res, object, existing);
  const hint = timeline.preloadHint();
  if (!hint || hint.msn !== msn || hint.partIndex !== partIndex) return sendText(res, 404, `part ${msn}.${partIndex} is not available`);
  // Also stop waiting when a later part lands: the segment was cut before the hinted part, which then never exists.
  const outcome = await timeline.waitUntil(
    () => isSatisfied({ msn, part: partIndex }, timeline.liveEdge()),
    origin.config.blockingTimeoutMs,
    abortSignalOf(res),
  );
  if (outcome === 'aborted') return;
  if (outcome === 'timeout' || outcome === 'closed') return sendText(res, 503, `part ${msn}.${partIndex} did not arrive in time`);
  const data = timeline.part(msn, partIndex);
  if (!data) return sendText(res, 404, `part ${msn}.${partIndex} was not produced`);
  sendObject(req, res, object, data);
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
