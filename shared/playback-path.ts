// The playback URL grammar (/live/NAME/index.m3u8, /live/NAME/REND/media.m3u8, /live/NAME/REND/digests.json,
// /live/NAME/REND/OBJECT, each optionally behind a /t/TOKEN playback-token prefix) and the names of the objects a
// stream serves (init, segments, parts, media keys): built and parsed here only, for the origin, the edge, the player
// and the tests.
import { isValidRenditionName, isValidStreamName } from './stream-name.ts';

/** Every playback path starts with this. */
export const PLAYBACK_PREFIX = '/live/';
/**
 * A playback token rides as a path prefix, `/t/TOKEN/live/…`, rather than a query: every relative URI in the
 * playlists (renditions, init, parts, segments, rendition reports, digests) then inherits it, and removing the prefix
 * gives back the plain path, which stays the cache key at edges.
 */
export const TOKEN_PREFIX = '/t/';
/** What a token may hold: a JWT's base64url parts and dots, bounded so a path cannot carry a megabyte of "token". */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){0,4}$/;
const MAX_TOKEN_LENGTH = 2048;
/** The multivariant playlist's name, under /live/NAME/. */
export const MULTIVARIANT_PLAYLIST = 'index.m3u8';
/** A rendition's media playlist name, under /live/NAME/REND/. */
export const MEDIA_PLAYLIST = 'media.m3u8';
/** A rendition's segment digests (SHA-256 of each segment still served), under /live/NAME/REND/, next to its playlist. */
export const SEGMENT_DIGESTS = 'digests.json';

/** The publish epoch in every object name keeps a reused stream name from colliding with cached objects. */
export type ObjectName =
  /** `version` counts the init segments of one publish: a publisher that reconnects may bring new codec parameters. */
  | { kind: 'init'; epoch: string; version: number }
  | { kind: 'segment'; epoch: string; msn: number }
  | { kind: 'part'; epoch: string; msn: number; partIndex: number }
  /** The AES-128 key of key period `period` (segments period × N … period × N + N − 1) of an encrypted stream. */
  | { kind: 'key'; epoch: string; period: number };

export type PlaybackPath =
  | { kind: 'multivariant'; stream: string }
  | { kind: 'media-playlist'; stream: string; rendition: string }
  | { kind: 'digests'; stream: string; rendition: string }
  | { kind: 'object'; stream: string; rendition: string; object: ObjectName };

const INIT_PATTERN = /^init-([a-z0-9]{1,16})(?:-([1-9][0-9]{0,5}))?\.mp4$/;
const KEY_PATTERN = /^key-([a-z0-9]{1,16})-(0|[1-9][0-9]{0,14})\.key$/;
const MEDIA_PATTERN = /^([a-z0-9]{1,16})-(0|[1-9][0-9]{0,14})(?:\.(0|[1-9][0-9]{0,5}))?\.m4s$/;

export function initObjectName(epoch: string, version = 0): string {
  return version === 0 ? `init-${epoch}.mp4` : `init-${epoch}-${version}.mp4`;
}

export function segmentObjectName(epoch: string, msn: number): string {
  return `${epoch}-${msn}.m4s`;
}

export function partObjectName(epoch: string, msn: number, partIndex: number): string {
  return `${epoch}-${msn}.${partIndex}.m4s`;
}

/** A media key's name: it sits next to the segments it opens, so a playback token prefix on the path covers it too. */
export function keyObjectName(epoch: string, period: number): string {
  return `key-${epoch}-${period}.key`;
}

/** Parses a media object name, or returns null for anything the origin never names. */
export function parseObjectName(name: string): ObjectName | null {
  const init = INIT_PATTERN.exec(name);
  if (init) return { kind: 'init', epoch: init[1]!, version: init[2] === undefined ? 0 : Number(init[2]) };
  const key = KEY_PATTERN.exec(name);
  if (key) return { kind: 'key', epoch: key[1]!, period: Number(key[2]) };
  const media = MEDIA_PATTERN.exec(name);
  if (!media) return null;
  const epoch = media[1]!;
  const msn = Number(media[2]);
  if (media[3] === undefined) return { kind: 'segment', epoch, msn };
  return { kind: 'part', epoch, msn, partIndex: Number(media[3]) };
}

/** `/live/NAME/index.m3u8`. */
export function multivariantPath(stream: string): string {
  return `${PLAYBACK_PREFIX}${stream}/${MULTIVARIANT_PLAYLIST}`;
}

/** `/live/NAME/REND/media.m3u8`. */
export function mediaPlaylistPath(stream: string, rendition: string): string {
  return `${PLAYBACK_PREFIX}${stream}/${rendition}/${MEDIA_PLAYLIST}`;
}

/** `/live/NAME/REND/digests.json`. */
export function segmentDigestsPath(stream: string, rendition: string): string {
  return `${PLAYBACK_PREFIX}${stream}/${rendition}/${SEGMENT_DIGESTS}`;
}

/** `/live/NAME/REND/OBJECT` for an object name made by the functions above. */
export function objectPath(stream: string, rendition: string, object: string): string {
  return `${PLAYBACK_PREFIX}${stream}/${rendition}/${object}`;
}

/**
 * What a playback path (or a URL's path with its query) names, or null when it is not one: an invalid stream or
 * rendition name, an unknown file name or an extra path level are all refused.
 */
export function parsePlaybackPath(pathOrUrl: string): PlaybackPath | null {
  const at = pathOrUrl.search(/[?#]/);
  const path = at < 0 ? pathOrUrl : pathOrUrl.slice(0, at);
  if (!path.startsWith(PLAYBACK_PREFIX)) return null;
  const levels = path.slice(PLAYBACK_PREFIX.length).split('/');
  const stream = levels[0]!;
  if (!isValidStreamName(stream)) return null;
  if (levels.length === 2) return levels[1] === MULTIVARIANT_PLAYLIST ? { kind: 'multivariant', stream } : null;
  if (levels.length !== 3) return null;
  const rendition = levels[1]!;
  const name = levels[2]!;
  if (!isValidRenditionName(rendition)) return null;
  if (name === MEDIA_PLAYLIST) return { kind: 'media-playlist', stream, rendition };
  if (name === SEGMENT_DIGESTS) return { kind: 'digests', stream, rendition };
  const object = parseObjectName(name);
  return object ? { kind: 'object', stream, rendition, object } : null;
}

/** Whether `token` may ride in a playback path. */
export function isValidPlaybackToken(token: string): boolean {
  return token.length <= MAX_TOKEN_LENGTH && TOKEN_PATTERN.test(token);
}

/** `/t/TOKEN` + `path` (a /live/ path, with its query), or `path` itself when there is no token. */
export function withPlaybackToken(path: string, token: string | undefined): string {
  return token === undefined || token === '' ? path : `${TOKEN_PREFIX}${token}${path}`;
}

/**
 * Splits `/t/TOKEN/live/…` into the token and the plain path (query kept); a path without the prefix has no token.
 * Returns null for a prefix whose token is malformed or that is not followed by a /live/ path.
 */
export function splitPlaybackToken(pathOrUrl: string): { token: string | undefined; path: string } | null {
  if (!pathOrUrl.startsWith(TOKEN_PREFIX)) return { token: undefined, path: pathOrUrl };
  const end = pathOrUrl.indexOf('/', TOKEN_PREFIX.length);
  if (end < 0) return null;
  const token = pathOrUrl.slice(TOKEN_PREFIX.length, end);
  const path = pathOrUrl.slice(end);
  if (!isValidPlaybackToken(token) || !path.startsWith(PLAYBACK_PREFIX)) return null;
  return { token, path };
}
