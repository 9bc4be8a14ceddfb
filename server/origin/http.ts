// HTTP routes of the origin under /live/ and /t/TOKEN/live/ (both checked by the playback guard first): which object a
// URL names and which answer it gets (playlists with blocking reload, segment digests, init segments, segments, parts,
// media keys); reply encoding lives in server/http, part streaming in part-streaming.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Router from 'find-my-way';
import { PlaybackGuard } from '../access/index.ts';
import { abortSignalOf, failInternal, registerPreflight, sendText } from '../http/index.ts';
import { assertWithinReach, blockingRequestOf, isSatisfied, parseDeliveryDirectives } from './blocking-reload.ts';
import type { BlockingRequest, DeliveryDirectives } from './blocking-reload.ts';
import { OriginError } from './errors.ts';
import type { LiveStream } from './live-stream.ts';
import { MEDIA_PLAYLIST, MULTIVARIANT_PLAYLIST, PLAYBACK_PREFIX, SEGMENT_DIGESTS, TOKEN_PREFIX, parseObjectName } from '../../shared/playback-path.ts';
import type { Origin } from './origin.ts';
import { servePart } from './part-streaming.ts';
import { renderSegmentDigests } from './playlist/render-digests.ts';
import { renderMediaPlaylist, type RenderOptions } from './playlist/render-media.ts';
import { renderMultivariantPlaylist } from './playlist/render-multivariant.ts';
import { blockingPlaylistCache, LIVE_PLAYLIST_CACHE, MULTIVARIANT_CACHE, sendDigests, sendMediaKey, sendMediaObject, sendPlaylist } from './replies.ts';
import type { RenditionTimeline } from './rendition-timeline.ts';

type Request = IncomingMessage;
type Response = ServerResponse;

/**
 * Adds GET and HEAD routes for `/live/NAME/index.m3u8` and `/live/NAME/REND/…`, and the same behind a `/t/TOKEN`
 * playback-token prefix (plus CORS preflight). Every request passes `guard` before the origin looks at the stream, so
 * a refused viewer learns nothing of which streams exist.
 */
export function registerOriginRoutes(router: Router.Instance<Router.HTTPVersion.V1>, origin: Origin, guard: Pick<PlaybackGuard, 'admit'> = new PlaybackGuard({})): void {
  for (const prefix of ['', `${TOKEN_PREFIX.slice(0, -1)}/:token`]) {
    router.on(['GET', 'HEAD'], `${prefix}${PLAYBACK_PREFIX}:name/${MULTIVARIANT_PLAYLIST}`, (req, res, params) => {
      const name = params.name ?? '';
      guarded(guard, req, res, name, params.token, async () => serveMultivariant(origin, name, req, res));
    });
    router.on(['GET', 'HEAD'], `${prefix}${PLAYBACK_PREFIX}:name/:rendition/:object`, (req, res, params) => {
      const name = params.name ?? '';
      const rendition = params.rendition ?? '';
      const object = params.object ?? '';
      guarded(guard, req, res, name, params.token, () => serveRenditionObject(origin, name, rendition, object, req, res), { rendition, object });
    });
    registerPreflight(router, `${prefix}${PLAYBACK_PREFIX}*`);
  }
}

/** Runs `serve` once `guard` admits the request; an unexpected failure is logged (without the token) and answered 500. */
function guarded(
  guard: Pick<PlaybackGuard, 'admit'>,
  req: Request,
  res: Response,
  name: string,
  token: string | undefined,
  serve: () => Promise<void>,
  where: Record<string, string> = {},
): void {
  guard
    .admit(req, res, name, token)
    .then((admitted) => (admitted ? serve() : undefined))
    .catch((err: unknown) => failInternal(res, 'origin.http-error', err, { stream: name, ...where }));
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
  if (object === SEGMENT_DIGESTS) return sendDigests(req, res, renderSegmentDigests(timeline.digests()));
  const parsed = parseObjectName(object);
  if (!parsed) return sendText(res, 404, `unknown object ${object}`);
  if (parsed.epoch !== stream.epoch) return sendText(res, 404, `${object} belongs to an earlier publish of ${name}`);
  switch (parsed.kind) {
    case 'init': {
      const init = timeline.initVersion(parsed.version);
      if (!init) return sendText(res, 404, `no init segment ${parsed.version} for ${rendition}`);
      return sendMediaObject(req, res, object, init.data);
    }
    case 'segment': {
      const data = timeline.segment(parsed.msn);
      if (!data) return sendText(res, 404, `segment ${parsed.msn} is not available`);
      return sendMediaObject(req, res, object, data);
    }
    case 'part':
      return servePart(origin.config, timeline, parsed.msn, parsed.partIndex, object, req, res);
    case 'key': {
      const key = timeline.mediaKey(parsed.period);
      if (!key) return sendText(res, 404, `key period ${parsed.period} of ${name} is not served`);
      return sendMediaKey(req, res, object, key);
    }
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
      return sendPlaylist(req, res, blockingPlaylistCache(origin.config), render());
    case 'timeout':
      return sendText(res, 503, `playlist did not reach msn ${wanted.msn}${wanted.part === undefined ? '' : ` part ${wanted.part}`} in time`);
    case 'closed':
      return sendText(res, 503, `stream ${stream.name} closed`);
    case 'aborted':
      return;
  }
}

function queryOf(req: Request): URLSearchParams {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}
