// Renders an LL-HLS media playlist (full or a delta update) from a plain snapshot of one rendition's timeline.
import { MEDIA_PLAYLIST, initObjectName, keyObjectName, partObjectName, segmentObjectName } from '../../../shared/playback-path.ts';

/** EXT-X-VERSION: EXT-X-MAP without I-frames-only needs 6. */
export const MEDIA_PLAYLIST_VERSION = 6;
/** EXT-X-VERSION of a playlist that offers delta updates: EXT-X-SKIP needs 9 (rfc8216bis §7), and a client only learns it may ask for skips from the full playlist, so that one says 9 as well. */
export const DELTA_PLAYLIST_VERSION = 9;

export interface PartSnapshot {
  partIndex: number;
  durationUs: number;
  independent: boolean;
  /** No media exists for the part (EXT-X-PART GAP=YES). */
  gap?: boolean;
}

/** Where another rendition's playlist ends (EXT-X-RENDITION-REPORT). */
export interface RenditionReport {
  rendition: string;
  lastMsn: number;
  /** Index of the last part of segment `lastMsn`, when it has parts listed. */
  lastPart?: number;
}

export interface SegmentSnapshot {
  msn: number;
  /** Sum of the parts so far; the final duration once complete. */
  durationUs: number;
  programDateTimeMs: number;
  /** False for the segment in progress, which is listed by its parts only. */
  complete: boolean;
  parts: PartSnapshot[];
  /** An encrypted stream's key period of the segment and its IV (`0x…`), for EXT-X-KEY. */
  key?: { period: number; iv: string };
  /** The segment follows a discontinuity (EXT-X-DISCONTINUITY): its publisher reconnected. */
  discontinuity?: boolean;
  /** Which of the publish's init segments the segment's media needs (EXT-X-MAP); absent is 0, the first. */
  initVersion?: number;
}

export interface MediaPlaylistSnapshot {
  epoch: string;
  targetDurationS: number;
  partTargetMs: number;
  /** Listed segments, oldest first; the last one may be in progress. */
  segments: SegmentSnapshot[];
  /** The next part, announced as EXT-X-PRELOAD-HINT while live. */
  preloadHint?: { msn: number; partIndex: number };
  /** EXT-X-DISCONTINUITY-SEQUENCE: discontinuities before the first segment listed (skipped ones count as listed). */
  discontinuitySequence?: number;
  /** The Skip Boundary (EXT-X-SERVER-CONTROL CAN-SKIP-UNTIL), in seconds, when delta updates are offered. */
  canSkipUntilS?: number;
  /** The other renditions of the stream, reported at the end of the playlist. */
  renditionReports?: RenditionReport[];
  ended: boolean;
}

export interface RenderOptions {
  /** `_HLS_skip`: render a delta update. Ignored unless the snapshot offers delta updates (rfc8216bis §6.2.5.1). */
  skip?: 'YES' | 'v2';
}

/**
 * How many leading segments a delta update replaces with EXT-X-SKIP: the complete segments older than the Skip
 * Boundary, i.e. those ending at least CAN-SKIP-UNTIL before the playlist's end (rfc8216bis §6.2.5.1).
 */
export function skippedSegmentCount(snapshot: MediaPlaylistSnapshot): number {
  if (snapshot.canSkipUntilS === undefined) return 0;
  const boundaryUs = snapshot.canSkipUntilS * 1_000_000;
  const totalUs = snapshot.segments.reduce((sum, segment) => sum + segment.durationUs, 0);
  let endUs = 0;
  let count = 0;
  for (const segment of snapshot.segments) {
    endUs += segment.durationUs;
    if (!segment.complete || totalUs - endUs < boundaryUs) break;
    count++;
  }
  return count;
}

/** Parts are listed only for segments that start less than this many target durations before the playlist's end (the spec's removal rule). */
export const PART_LISTING_TARGET_DURATIONS = 3;

export function renderMediaPlaylist(snapshot: MediaPlaylistSnapshot, options: RenderOptions = {}): string {
  const { epoch, targetDurationS, partTargetMs, segments, canSkipUntilS } = snapshot;
  const partTargetS = partTargetMs / 1000;
  const first = segments[0];
  const serverControl = ['CAN-BLOCK-RELOAD=YES'];
  // We write no EXT-X-DATERANGE, so a v2 delta update can always skip them all: CAN-SKIP-DATERANGES is true.
  if (canSkipUntilS !== undefined) serverControl.push(`CAN-SKIP-UNTIL=${seconds(canSkipUntilS)}`, 'CAN-SKIP-DATERANGES=YES');
  serverControl.push(`PART-HOLD-BACK=${seconds(3 * partTargetS)}`, `HOLD-BACK=${seconds(3 * targetDurationS)}`);
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${canSkipUntilS === undefined ? MEDIA_PLAYLIST_VERSION : DELTA_PLAYLIST_VERSION}`,
    `#EXT-X-TARGETDURATION:${targetDurationS}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-SERVER-CONTROL:${serverControl.join(',')}`,
    `#EXT-X-PART-INF:PART-TARGET=${seconds(partTargetS)}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`,
  ];
  if (snapshot.discontinuitySequence) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${snapshot.discontinuitySequence}`);
  const skipped = options.skip ? skippedSegmentCount(snapshot) : 0;
  if (skipped > 0) {
    // v2 asked to skip date ranges too, and then RECENTLY-REMOVED-DATERANGES is REQUIRED (§4.4.5.2); none ever existed.
    lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}${options.skip === 'v2' ? ',RECENTLY-REMOVED-DATERANGES=""' : ''}`);
  }
  // After the skip, so that it applies to the segments actually listed; a discontinuity may bring the next one.
  let initVersion = segments[skipped]?.initVersion ?? 0;
  lines.push(`#EXT-X-MAP:URI="${initObjectName(epoch, initVersion)}"`);
  const totalUs = segments.reduce((sum, segment) => sum + segment.durationUs, 0);
  const partHorizonUs = PART_LISTING_TARGET_DURATIONS * targetDurationS * 1_000_000;
  let startUs = segments.slice(0, skipped).reduce((sum, segment) => sum + segment.durationUs, 0);
  let keyPeriod: number | undefined;
  for (const [i, segment] of segments.slice(skipped).entries()) {
    // The first segment listed after a skip keeps its tag: the skipped segments may end before the discontinuity.
    if (segment.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if ((segment.initVersion ?? 0) !== initVersion && i > 0) {
      initVersion = segment.initVersion ?? 0;
      lines.push(`#EXT-X-MAP:URI="${initObjectName(epoch, initVersion)}"`);
    }
    // A key tag applies to everything after it, so one goes before the first segment of each key period and before the
    // first segment listed (a joining player, or a delta update's first segment, needs it). It comes after EXT-X-MAP,
    // which keeps the init segment (codec setup, no media) in the clear for every client.
    if (segment.key && segment.key.period !== keyPeriod) {
      keyPeriod = segment.key.period;
      lines.push(`#EXT-X-KEY:METHOD=AES-128,URI="${keyObjectName(epoch, keyPeriod)}",IV=${segment.key.iv}`);
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTimeMs).toISOString()}`);
    if (!segment.complete || totalUs - startUs < partHorizonUs) {
      for (const part of segment.parts) {
        const independent = part.independent ? ',INDEPENDENT=YES' : '';
        const gap = part.gap ? ',GAP=YES' : '';
        lines.push(`#EXT-X-PART:DURATION=${seconds(part.durationUs / 1e6)},URI="${partObjectName(epoch, segment.msn, part.partIndex)}"${independent}${gap}`);
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
  for (const report of snapshot.renditionReports ?? []) {
    const lastPart = report.lastPart === undefined ? '' : `,LAST-PART=${report.lastPart}`;
    lines.push(`#EXT-X-RENDITION-REPORT:URI="../${report.rendition}/${MEDIA_PLAYLIST}",LAST-MSN=${report.lastMsn}${lastPart}`);
  }
  return lines.join('\n') + '\n';
}

/** Decimal seconds with 5 decimals, as LL-HLS examples use, so parts of 1/30 s multiples sum back to their segment within 1 ms. */
function seconds(value: number): string {
  return value.toFixed(5);
}
