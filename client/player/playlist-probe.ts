// Pure reading of just enough HLS playlist text to tell whether a broadcast is live, without starting playback.

/** The URI of the first variant of a multivariant playlist, or null if `text` is a media playlist. */
export function firstVariantUri(text: string): string | null {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  const inf = lines.findIndex((line) => line.startsWith('#EXT-X-STREAM-INF:'));
  if (inf < 0) return null;
  return lines.slice(inf + 1).find((line) => line.length > 0 && !line.startsWith('#')) ?? null;
}

/** A media playlist with EXT-X-ENDLIST: the broadcast it describes is over. */
export function hasEndList(text: string): boolean {
  return /^#EXT-X-ENDLIST\s*$/m.test(text);
}
