// Renders an LL-HLS media playlist from a plain snapshot of one rendition's timeline.
import { initObjectName, partObjectName, segmentObjectName } from '../object-names.ts';

/** EXT-X-VERSION: EXT-X-MAP without I-frames-only needs 6; nothing here needs more (delta updates will need 9). */
export const MEDIA_PLAYLIST_VERSION = 6;

export interface PartSnapshot {
  partIndex: number;
  durationUs: number;
  independent: boolean;
}

export interface SegmentSnapshot {
  msn: number;
  /** Sum of the parts so far; the final duration once complete. */
  durationUs: number;
  programDateTimeMs: number;
  /** False for the segment in progress, which is listed by its parts only. */
  complete: boolean;
  parts: PartSnapshot[];
}

export interface MediaPlaylistSnapshot {
  epoch: string;
  targetDurationS: number;
  partTargetMs: number;
  /** Listed segments, oldest first; the last one may be in progress. */
  segments: SegmentSnapshot[];
  /** The next part, announced as EXT-X-PRELOAD-HINT while live. */
  preloadHint?: { msn: number; partIndex: number };
  ended: boolean;
}

/** Parts are listed only for segments that start less than this many target durations before the playlist's end (the spec's removal rule). */
export const PART_LISTING_TARGET_DURATIONS = 3;

export function renderMediaPlaylist(snapshot: MediaPlaylistSnapshot): string {
  const { epoch, targetDurationS, partTargetMs, segments } = snapshot;
  const partTargetS = partTargetMs / 1000;
  const first = segments[0];
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${MEDIA_PLAYLIST_VERSION}`,
    `#EXT-X-TARGETDURATION:${targetDurationS}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${seconds(3 * partTargetS)},HOLD-BACK=${seconds(3 * targetDurationS)}`,
    `#EXT-X-PART-INF:PART-TARGET=${seconds(partTargetS)}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`,
    `#EXT-X-MAP:URI="${initObjectName(epoch)}"`,
  ];
  const totalUs = segments.reduce((sum, segment) => sum + segment.durationUs, 0);
  const partHorizonUs = PART_LISTING_TARGET_DURATIONS * targetDurationS * 1_000_000;
  let startUs = 0;
  for (const segment of segments) {
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTimeMs).toISOString()}`);
    if (!segment.complete || totalUs - startUs < partHorizonUs) {
      for (const part of segment.parts) {
        const independent = part.independent ? ',INDEPENDENT=YES' : '';
        lines.push(`#EXT-X-PART:DURATION=${seconds(part.durationUs / 1e6)},URI="${partObjectName(epoch, segment.msn, part.partIndex)}"${independent}`);
      }
    }
    if (segment.complete) {
      lines.push(`#EXTINF:${seconds(segment.durationUs / 1e6)},`, segmentObjectName(epoch, segment.msn));
    }
    startUs += segment.durationUs;
  }
  if (snapshot.ended) {
    lines.push('#EXT-X-ENDLIST');
  } else if (snapshot.preloadHint) {
    const { msn, partIndex } = snapshot.preloadHint;
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partObjectName(epoch, msn, partIndex)}"`);
  }
  return lines.join('\n') + '\n';
}

/** Decimal seconds with 5 decimals, as LL-HLS examples use, so parts of 1/30 s multiples sum back to their segment within 1 ms. */
function seconds(value: number): string {
  return value.toFixed(5);
}
