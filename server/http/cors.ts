// The CORS headers every reply carries, so a player on another site can read playlists, media and errors alike.
import type { ServerResponse } from 'node:http';
import type Router from 'find-my-way';

/** On every reply (lower-case names, so they merge with proxied headers): any site may read it, and the headers a player or its stats look at. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Age, Content-Length, Date, ETag, X-Cache',
};

/** What a cross-site request may do: read media (GET, HEAD), or publish (POST an SDP offer, DELETE the session; WHIP says so in its own words). */
export type PreflightScope = 'playback' | 'publish' | 'whip';

const PREFLIGHT: Record<PreflightScope, Record<string, string>> = {
  playback: { 'access-control-allow-methods': 'GET, HEAD' },
  publish: {
    'access-control-allow-methods': 'POST, DELETE',
    'access-control-allow-headers': 'Authorization, Content-Type',
    // A publisher on another site needs the session's Location to stop, and the targets to cut its keyframes.
    'access-control-expose-headers': 'Location, X-Segment-Target-Ms, X-Part-Target-Ms',
  },
  // RFC 9725 §4.1: the endpoint answers OPTIONS with the methods it takes (no PATCH: no trickle ICE) and Accept-Post.
  whip: {
    'access-control-allow-methods': 'POST, DELETE, OPTIONS',
    'access-control-allow-headers': 'Authorization, Content-Type',
    'access-control-expose-headers': 'Location',
    'accept-post': 'application/sdp',
  },
};

/** The preflight answer for `scope`, remembered by the browser for a day. */
export function answerPreflight(res: ServerResponse, scope: PreflightScope = 'playback'): void {
  res.writeHead(204, { ...CORS_HEADERS, ...PREFLIGHT[scope], 'access-control-max-age': '86400' });
  res.end();
}

/** The headers of a publish API reply that a publisher on another site reads. */
export const PUBLISH_CORS_HEADERS: Readonly<Record<string, string>> = {
  ...CORS_HEADERS,
  'access-control-expose-headers': PREFLIGHT.publish['access-control-expose-headers']!,
};

/** Answers OPTIONS under `path` (a find-my-way pattern such as `/live/*`) with the preflight answer of `scope`. */
export function registerPreflight(router: Router.Instance<Router.HTTPVersion.V1>, path: string, scope: PreflightScope = 'playback'): void {
  router.on('OPTIONS', path, (_req, res) => answerPreflight(res, scope));
}
