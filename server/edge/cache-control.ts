// Pure reading of upstream Cache-Control headers into what the edge may store and for how long.
export interface CachePolicy {
  /** The response may be kept at all (not no-store, not private). */
  storable: boolean;
  /** How long a stored copy answers without asking upstream, ms (0 = must ask every time). */
  freshMs: number;
  /** The object never changes (immutable), so a stale copy is as good as a fresh one when the origin fails. */
  immutable: boolean;
}

/** Parses `Cache-Control` directives (case-insensitive names, quoted values tolerated) into a name → value map. */
export function parseCacheControl(header: string | undefined): Map<string, string> {
  const directives = new Map<string, string>();
  if (!header) return directives;
  for (const item of header.split(',')) {
    const at = item.indexOf('=');
    const name = (at < 0 ? item : item.slice(0, at)).trim().toLowerCase();
    if (!name) continue;
    const value = at < 0 ? '' : item.slice(at + 1).trim().replace(/^"(.*)"$/, '$1');
    directives.set(name, value);
  }
  return directives;
}

/** What the edge may do with a response of `status` carrying `cacheControl`; only 200 answers are ever stored. */
export function cachePolicyOf(status: number, cacheControl: string | undefined): CachePolicy {
  const directives = parseCacheControl(cacheControl);
  const storable = status === 200 && !directives.has('no-store') && !directives.has('private');
  if (!storable) return { storable: false, freshMs: 0, immutable: false };
  const immutable = directives.has('immutable');
  // s-maxage is meant for shared caches such as this one and wins over max-age.
  const maxAgeS = secondsOf(directives.get('s-maxage')) ?? secondsOf(directives.get('max-age')) ?? 0;
  const freshMs = directives.has('no-cache') ? 0 : maxAgeS * 1000;
  return { storable: freshMs > 0 || immutable, freshMs, immutable };
}

function secondsOf(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}
