// Pure derivation of the cache key and the object kind of a /live/ request URL.
import { parsePlaybackPath } from '../../shared/playback-path.ts';

export type ObjectKind = 'playlist' | 'digests' | 'part' | 'segment' | 'init' | 'key' | 'other';

/**
 * Path plus the query with its parameters sorted, so `?_HLS_part=2&_HLS_msn=5` and `?_HLS_msn=5&_HLS_part=2` are one
 * blocking request upstream; every parameter stays in the key because each names a different answer.
 */
export function cacheKeyOf(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const path = url.slice(0, at);
  const params = [...new URLSearchParams(url.slice(at + 1))].sort(([a, av], [b, bv]) => (a === b ? compare(av, bv) : compare(a, b)));
  if (params.length === 0) return path;
  return `${path}?${new URLSearchParams(params).toString()}`;
}

/** What a /live/ URL names, by the playback path grammar; anything the origin never names is `other`. */
export function objectKindOf(url: string): ObjectKind {
  const path = parsePlaybackPath(url);
  if (!path) return 'other';
  if (path.kind === 'object') return path.object.kind;
  return path.kind === 'digests' ? 'digests' : 'playlist';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
