// The CORS headers every reply carries, so a player on another site can read playlists, media and errors alike.
import type { ServerResponse } from 'node:http';
import type Router from 'find-my-way';

/** On every reply (lower-case names, so they merge with proxied headers): any site may read it, and the headers a player or its stats look at. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Age, Content-Length, Date, ETag, X-Cache',
};

/** The preflight answer: GET and HEAD only, remembered by the browser for a day. */
export function answerPreflight(res: ServerResponse): void {
  res.writeHead(204, {
    ...CORS_HEADERS,
    'access-control-allow-methods': 'GET, HEAD',
    'access-control-max-age': '86400',
  });
  res.end();
}

/** Answers OPTIONS under `path` (a find-my-way pattern such as `/live/*`) with the preflight answer. */
export function registerPreflight(router: Router.Instance<Router.HTTPVersion.V1>, path: string): void {
  router.on('OPTIONS', path, (_req, res) => answerPreflight(res));
}
