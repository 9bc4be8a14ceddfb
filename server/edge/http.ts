// HTTP surface of an edge under /live/: every GET and HEAD goes through the edge's cache; CORS preflight is answered locally.
import type Router from 'find-my-way';
import type { Edge } from './edge.ts';

export function registerEdgeRoutes(router: Router.Instance<Router.HTTPVersion.V1>, edge: Pick<Edge, 'handle'>): void {
  router.on(['GET', 'HEAD'], '/live/*', (req, res) => edge.handle(req, res));
  router.on('OPTIONS', '/live/*', (_req, res) => {
    res.writeHead(204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, HEAD',
      'Access-Control-Max-Age': '86400',
    });
    res.end();
  });
}
