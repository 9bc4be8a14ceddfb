// HTTP surface of an edge under /live/: every GET and HEAD goes through the edge's cache; CORS preflight is answered locally.
import type Router from 'find-my-way';
import { registerPreflight } from '../http/index.ts';
import type { Edge } from './edge.ts';
import { PLAYBACK_PREFIX } from '../../shared/playback-path.ts';

export function registerEdgeRoutes(router: Router.Instance<Router.HTTPVersion.V1>, edge: Pick<Edge, 'handle'>): void {
  router.on(['GET', 'HEAD'], `${PLAYBACK_PREFIX}*`, (req, res) => edge.handle(req, res));
  registerPreflight(router, `${PLAYBACK_PREFIX}*`);
}
