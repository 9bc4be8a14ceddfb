// Renders a rendition's digests.json: the SHA-256 of each segment it still serves, by the name its playlist gives it.

export interface SegmentDigest {
  /** The segment's object name, as the media playlist's URI writes it. */
  name: string;
  /** SHA-256 of the segment's bytes, base64. */
  sha256: string;
}

/** `{ "segments": { NAME: SHA-256 } }`, oldest segment first; a player checks segments peers send it against these. */
export function renderSegmentDigests(digests: readonly SegmentDigest[]): string {
  return JSON.stringify({ segments: Object.fromEntries(digests.map((digest) => [digest.name, digest.sha256])) });
}
