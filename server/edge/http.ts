// HTTP surface of an edge under /live/ and /t/TOKEN/live/: the viewer's token and geo rules are checked here (the
// playback guard), then every GET and HEAD goes through the edge's cache, keyed by the plain /live/ path and fetched
// upstream with the edge's own per-stream token, so viewers' tokens never split the cache; CORS preflight is local.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Router from 'find-my-way';
import { PlaybackGuard } from '../access/index.ts';
import { failInternal, registerPreflight, sendText } from '../http/index.ts';
import type { Edge } from './edge.ts';
import { PLAYBACK_PREFIX, TOKEN_PREFIX, parsePlaybackPath, splitPlaybackToken, withPlaybackToken } from '../../shared/playback-path.ts';

export function registerEdgeRoutes(
  router: Router.Instance<Router.HTTPVersion.V1>,
  edge: Pick<Edge, 'handle'>,
  guard: Pick<PlaybackGuard, 'admit' | 'serviceToken' | 'tokensRequired'> = new PlaybackGuard({}),
): void {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    serveGuarded(edge, guard, req, res).catch((err: unknown) => failInternal(res, 'edge.guard-error', err));
  };
  router.on(['GET', 'HEAD'], `${PLAYBACK_PREFIX}*`, handle);
  router.on(['GET', 'HEAD'], `${TOKEN_PREFIX}*`, handle);
  registerPreflight(router, `${PLAYBACK_PREFIX}*`);
  registerPreflight(router, `${TOKEN_PREFIX}*`);
}

async function serveGuarded(edge: Pick<Edge, 'handle'>, guard: Pick<PlaybackGuard, 'admit' | 'serviceToken' | 'tokensRequired'>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const split = splitPlaybackToken(req.url ?? '/');
  if (!split) return sendText(res, 404, 'not a playback path');
  const stream = parsePlaybackPath(split.path)?.stream;
  // Without tokens, what the grammar does not name is still the origin's to answer (404s the edge caches briefly).
  if (stream === undefined) return guard.tokensRequired ? sendText(res, 404, 'not a playback path') : edge.handle(req, res, split.path);
  if (!(await guard.admit(req, res, stream, split.token))) return;
  edge.handle(req, res, split.path, withPlaybackToken(split.path, await guard.serviceToken(stream)));
}
