// Reads a live LL-HLS media playlist into the plain model the conformance rules check, using the independent parser hls-parser.
//
// hls-parser (0.16) gives segments, parts (DURATION, URI, INDEPENDENT, GAP), EXT-X-PRELOAD-HINT as a trailing `hint` part,
// SERVER-CONTROL, PART-INF, RENDITION-REPORT and SKIPPED-SEGMENTS. A small line-level reader of our own adds what it
// hides: whether EXT-X-SKIP is present at all (SKIPPED-SEGMENTS=0 reads the same as no tag), how many EXT-X-SKIP and
// EXT-X-PRELOAD-HINT tags of each TYPE there are (it drops the extra ones), and MAP hints. Its own validation is silenced:
// the rules in checker.ts decide what is a violation, with the spec's section for each.
import HLS from 'hls-parser';

HLS.setOptions({ silent: true, strictMode: false });

export interface PlaylistPart {
  uri: string;
  durationS: number;
  independent: boolean;
  gap: boolean;
}

export interface PlaylistSegment {
  msn: number;
  /** Segment URI; null for the segment still in progress, listed by its parts only. */
  uri: string | null;
  /** EXTINF in seconds; null while in progress. */
  durationS: number | null;
  /** EXT-X-PROGRAM-DATE-TIME in ms since the epoch, when tagged. */
  programDateTimeMs: number | null;
  parts: PlaylistPart[];
  /** A PRELOAD-HINT TYPE=PART that hls-parser found among this segment's tags. */
  hintUri: string | null;
}

export interface MediaPlaylistModel {
  version: number | null;
  targetDurationS: number;
  partTargetS: number | null;
  serverControl: {
    canBlockReload: boolean;
    canSkipUntilS: number | null;
    holdBackS: number | null;
    partHoldBackS: number | null;
  } | null;
  /** EXT-X-MEDIA-SEQUENCE: the MSN of the first segment, skipped ones included. */
  mediaSequence: number;
  /** EXT-X-SKIP's SKIPPED-SEGMENTS, or null when the tag is absent. */
  skippedSegments: number | null;
  skipTagCount: number;
  /** Listed segments, oldest first, after any skipped ones. */
  segments: PlaylistSegment[];
  /** Every PRELOAD-HINT TYPE=PART URI, in playlist order (there should be at most one). */
  partHints: string[];
  mapHintCount: number;
  mapUri: string | null;
  renditionReports: { uri: string; lastMsn: number | null; lastPart: number | null }[];
  independentSegments: boolean;
  ended: boolean;
}

export class PlaylistReadError extends Error {
  readonly code = 'not-a-media-playlist';
}

export function readMediaPlaylist(text: string): MediaPlaylistModel {
  const parsed = HLS.parse(text);
  if (parsed.isMasterPlaylist) throw new PlaylistReadError('expected a media playlist, got a multivariant playlist');
  const playlist = parsed as HLS.types.MediaPlaylist;
  const lines = tagLines(text);
  const partHints = lines.filter((l) => l.name === 'EXT-X-PRELOAD-HINT' && /(^|,)TYPE=PART(,|$)/.test(l.value)).map((l) => quotedAttribute(l.value, 'URI') ?? '');
  const control = playlist.lowLatencyCompatibility;
  const skipLine = lines.find((l) => l.name === 'EXT-X-SKIP');
  const segments = playlist.segments.map((segment): PlaylistSegment => {
    const parts = segment.parts ?? [];
    const hint = parts.find((p) => p.hint);
    const complete = segment.uri !== '';
    return {
      msn: segment.mediaSequenceNumber,
      uri: complete ? segment.uri : null,
      durationS: complete ? segment.duration : null,
      programDateTimeMs: segment.programDateTime ? new Date(segment.programDateTime).getTime() : null,
      parts: parts
        .filter((p) => !p.hint)
        .map((p) => ({ uri: p.uri, durationS: p.duration ?? 0, independent: p.independent === true, gap: p.gap === true })),
      hintUri: hint ? hint.uri : null,
    };
  });
  // hls-parser turns a lone trailing PRELOAD-HINT (no EXT-X-PART after the last EXTINF) into an empty in-progress segment; keep it, it carries the hint.
  const mapLine = lines.find((l) => l.name === 'EXT-X-MAP');
  return {
    version: playlist.version ?? null,
    targetDurationS: playlist.targetDuration,
    partTargetS: playlist.partTargetDuration ?? null,
    serverControl: control
      ? {
          canBlockReload: control.canBlockReload === true,
          canSkipUntilS: numberOrNull(control.canSkipUntil),
          holdBackS: numberOrNull(control.holdBack),
          partHoldBackS: numberOrNull(control.partHoldBack),
        }
      : null,
    mediaSequence: playlist.mediaSequenceBase ?? 0,
    skippedSegments: skipLine ? Number(/(?:^|,)SKIPPED-SEGMENTS=(\d+)/.exec(skipLine.value)?.[1] ?? NaN) : null,
    skipTagCount: lines.filter((l) => l.name === 'EXT-X-SKIP').length,
    segments,
    partHints,
    mapHintCount: lines.filter((l) => l.name === 'EXT-X-PRELOAD-HINT' && /(^|,)TYPE=MAP(,|$)/.test(l.value)).length,
    mapUri: mapLine ? quotedAttribute(mapLine.value, 'URI') : null,
    renditionReports: playlist.renditionReports.map((r) => ({ uri: r.uri, lastMsn: numberOrNull(r.lastMSN), lastPart: numberOrNull(r.lastPart) })),
    independentSegments: playlist.independentSegments,
    ended: playlist.endlist,
  };
}

/** Every media URI a playlist says is available (init, parts, segments), in playlist order: not the hinted part, nor GAP=YES parts. */
export function mediaUris(playlist: MediaPlaylistModel): string[] {
  const uris: string[] = [];
  if (playlist.mapUri) uris.push(playlist.mapUri);
  for (const segment of playlist.segments) {
    for (const part of segment.parts) if (!part.gap) uris.push(part.uri);
    if (segment.uri) uris.push(segment.uri);
  }
  return uris;
}

interface TagLine {
  name: string;
  value: string;
}

function tagLines(text: string): TagLine[] {
  const lines: TagLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line.startsWith('#EXT')) continue;
    const colon = line.indexOf(':');
    lines.push(colon < 0 ? { name: line.slice(1), value: '' } : { name: line.slice(1, colon), value: line.slice(colon + 1) });
  }
  return lines;
}

function quotedAttribute(attributes: string, name: string): string | null {
  return new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(attributes)?.[1] ?? null;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
