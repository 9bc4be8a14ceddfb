// LL-HLS conformance rules (draft-pantos-hls-rfc8216bis) over successive snapshots of one live media playlist: pure code, no I/O.
//
// Playlists are read by media-playlist.ts (hls-parser plus a line-level reader for the few tags it hides). MUST rules are
// reported as errors, SHOULD rules as warnings. A part is identified by its segment's MSN and its position among that
// segment's listed parts, so the checker assumes a server lists all of a segment's parts or none, as servers do; one that
// dropped a segment's leading parts one by one (which the spec permits) would be flagged by `parts-sum-extinf`.
import type { MediaPlaylistModel, PlaylistSegment } from './media-playlist.ts';

export type Severity = 'error' | 'warning';

/** Every rule the checker knows: the spec section it comes from and whether the spec says MUST (error) or SHOULD (warning). */
export const RULES = {
  'extinf-target-duration': { section: '4.4.3.1', severity: 'error' },
  'part-inf-required': { section: '4.4.3.7', severity: 'error' },
  'can-block-reload': { section: '4.4.3.8, B.1', severity: 'error' },
  'hold-back': { section: '4.4.3.8', severity: 'error' },
  'part-hold-back': { section: '4.4.3.8', severity: 'error' },
  'part-hold-back-recommended': { section: '4.4.3.8', severity: 'warning' },
  'skip-boundary-minimum': { section: '4.4.3.8', severity: 'error' },
  'part-duration-max': { section: '4.4.4.9', severity: 'error' },
  'part-duration-min': { section: '4.4.4.9', severity: 'error' },
  'parts-sum-extinf': { section: '3.2', severity: 'error' },
  'skip-single': { section: '4.4.5.2', severity: 'error' },
  'preload-hint-endlist': { section: '4.4.5.3', severity: 'error' },
  'preload-hint-next-part': { section: '4.4.5.3', severity: 'error' },
  'preload-hint-single': { section: '6.2.6', severity: 'warning' },
  'rendition-report': { section: 'B.1', severity: 'error' },
  version: { section: '8', severity: 'error' },
  'media-sequence-monotonic': { section: '6.2.2', severity: 'error' },
  'segment-stable': { section: '6.2.1', severity: 'error' },
  'part-stable': { section: '6.2.1', severity: 'error' },
  'pdt-stable': { section: '6.2.1', severity: 'error' },
  'part-removal-order': { section: '6.2.2', severity: 'error' },
  'part-retention': { section: '6.2.2', severity: 'warning' },
  'blocking-satisfied': { section: '6.2.5.2', severity: 'error' },
  'skip-honoured': { section: '6.2.5.1', severity: 'error' },
  'skip-unadvertised': { section: '6.2.5.1', severity: 'error' },
  'skip-boundary-respected': { section: '6.2.5.1', severity: 'error' },
  'delta-consistent': { section: '6.2.5.1', severity: 'error' },
} as const satisfies Record<string, { section: string; severity: Severity }>;

export type RuleId = keyof typeof RULES;

export interface Violation {
  rule: RuleId;
  /** Section of draft-pantos-hls-rfc8216bis. */
  section: string;
  severity: Severity;
  message: string;
  /** Index of the snapshot it was found in. */
  snapshot: number;
}

/** The delivery directives of the request that fetched a snapshot. */
export interface DeliveryRequest {
  msn?: number;
  part?: number;
  skip?: 'YES' | 'v2';
}

export interface PlaylistSnapshot {
  playlist: MediaPlaylistModel;
  request?: DeliveryRequest;
}

export interface CheckOptions {
  /** URIs of the other renditions' media playlists, relative to this one, each of which needs a RENDITION-REPORT. */
  otherRenditions?: readonly string[];
}

export interface ConformanceReport {
  /** MUST violations. */
  errors: Violation[];
  /** SHOULD violations. */
  warnings: Violation[];
  /** Delta updates compared tag for tag against a full playlist of the same request and live edge. */
  deltaPairsCompared: number;
}

// Playlists print durations rounded to a few decimals; half a millisecond absorbs that without hiding a whole frame.
const DURATION_EPSILON_S = 0.0005;
// A segment's EXTINF and the sum of its parts' DURATIONs, each rounded, agree within a millisecond.
const PARTS_SUM_TOLERANCE_S = 0.001;
const PART_MIN_FRACTION = 0.85;
const PART_RETENTION_TARGET_DURATIONS = 3;

type Report = (rule: RuleId, message: string) => void;

/** Checks one playlist on its own (and against the request that fetched it); returns errors and warnings together. */
export function checkPlaylist(playlist: MediaPlaylistModel, options: CheckOptions = {}, request?: DeliveryRequest, snapshot = 0): Violation[] {
  const found: Violation[] = [];
  const report: Report = (rule, message) => found.push(violation(rule, message, snapshot));
  checkHeader(playlist, report);
  checkDurations(playlist, report);
  checkHints(playlist, report);
  checkRenditionReports(playlist, options, report);
  if (request) checkRequestAnswered(playlist, request, report);
  return found;
}

/** Checks successive snapshots of one live media playlist, in the order they were received. */
export function checkLivePlaylists(snapshots: readonly PlaylistSnapshot[], options: CheckOptions = {}): ConformanceReport {
  const found: Violation[] = [];
  snapshots.forEach((snapshot, index) => found.push(...checkPlaylist(snapshot.playlist, options, snapshot.request, index)));
  found.push(...checkHistory(snapshots));
  const delta = checkDeltas(snapshots);
  found.push(...delta.violations);
  const unique = dedupe(found);
  return {
    errors: unique.filter((v) => v.severity === 'error'),
    warnings: unique.filter((v) => v.severity === 'warning'),
    deltaPairsCompared: delta.pairs,
  };
}

/** One line per violation, for test failure messages. */
export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `[${v.rule} §${v.section}] snapshot ${v.snapshot}: ${v.message}`).join('\n');
}

function checkHeader(playlist: MediaPlaylistModel, report: Report): void {
  const { targetDurationS, partTargetS, serverControl: control } = playlist;
  const hasParts = playlist.segments.some((s) => s.parts.length > 0) || playlist.partHints.length > 0;
  if (hasParts && partTargetS === null) report('part-inf-required', 'the playlist has EXT-X-PART tags but no EXT-X-PART-INF');
  if (hasParts && control?.canBlockReload !== true) report('can-block-reload', 'a low-latency playlist must offer CAN-BLOCK-RELOAD=YES');
  if (control?.holdBackS != null && control.holdBackS < 3 * targetDurationS - DURATION_EPSILON_S) {
    report('hold-back', `HOLD-BACK ${control.holdBackS} is less than three target durations (${3 * targetDurationS})`);
  }
  if (partTargetS !== null) {
    const partHoldBack = control?.partHoldBackS ?? null;
    if (partHoldBack === null) report('part-hold-back', 'PART-HOLD-BACK is required with EXT-X-PART-INF');
    else if (partHoldBack < 2 * partTargetS - DURATION_EPSILON_S) {
      report('part-hold-back', `PART-HOLD-BACK ${partHoldBack} is less than twice PART-TARGET ${partTargetS}`);
    } else if (partHoldBack < 3 * partTargetS - DURATION_EPSILON_S) {
      report('part-hold-back-recommended', `PART-HOLD-BACK ${partHoldBack} is less than three times PART-TARGET ${partTargetS}`);
    }
  }
  if (control?.canSkipUntilS != null && control.canSkipUntilS < 6 * targetDurationS - DURATION_EPSILON_S) {
    report('skip-boundary-minimum', `CAN-SKIP-UNTIL ${control.canSkipUntilS} is less than six target durations (${6 * targetDurationS})`);
  }
  if (playlist.skipTagCount > 1) report('skip-single', `EXT-X-SKIP appears ${playlist.skipTagCount} times`);
  const needed = requiredVersion(playlist);
  const declared = playlist.version ?? 1;
  if (declared < needed.version) report('version', `EXT-X-VERSION ${declared} is below ${needed.version}, which ${needed.why} requires`);
}

function requiredVersion(playlist: MediaPlaylistModel): { version: number; why: string } {
  if (playlist.skipTagCount > 0) return { version: 9, why: 'EXT-X-SKIP' };
  if (playlist.mapUri !== null) return { version: 6, why: 'EXT-X-MAP outside an I-frame playlist' };
  if (playlist.segments.some((s) => s.durationS !== null && !Number.isInteger(s.durationS))) return { version: 3, why: 'a decimal EXTINF' };
  return { version: 1, why: 'nothing' };
}

function checkDurations(playlist: MediaPlaylistModel, report: Report): void {
  const { targetDurationS, partTargetS } = playlist;
  for (const segment of playlist.segments) {
    if (segment.durationS !== null && Math.round(segment.durationS) > targetDurationS) {
      report('extinf-target-duration', `segment ${segment.msn}: EXTINF ${segment.durationS} rounds above TARGETDURATION ${targetDurationS}`);
    }
    if (partTargetS === null) continue;
    const complete = segment.uri !== null;
    segment.parts.forEach((part, index) => {
      if (part.durationS > partTargetS + DURATION_EPSILON_S) {
        report('part-duration-max', `part ${segment.msn}.${index}: DURATION ${part.durationS} exceeds PART-TARGET ${partTargetS}`);
      }
      const last = index === segment.parts.length - 1;
      // The last listed part of a segment still in progress may yet turn out to be its final part, which is exempt.
      const exempt = part.independent || part.gap || segment.parts[index + 1]?.gap === true || last;
      if (!exempt && part.durationS < PART_MIN_FRACTION * partTargetS - DURATION_EPSILON_S) {
        report('part-duration-min', `part ${segment.msn}.${index}: DURATION ${part.durationS} is below 85% of PART-TARGET ${partTargetS}`);
      }
    });
    if (complete && segment.parts.length > 0 && segment.durationS !== null) {
      const sum = segment.parts.reduce((total, part) => total + part.durationS, 0);
      if (Math.abs(sum - segment.durationS) > PARTS_SUM_TOLERANCE_S) {
        report('parts-sum-extinf', `segment ${segment.msn}: parts sum to ${sum.toFixed(5)} s but EXTINF is ${segment.durationS}`);
      }
    }
  }
  checkPartRetention(playlist, report);
}

function checkPartRetention(playlist: MediaPlaylistModel, report: Report): void {
  const total = playlist.segments.reduce((sum, segment) => sum + listedDuration(segment), 0);
  const horizon = PART_RETENTION_TARGET_DURATIONS * playlist.targetDurationS;
  let start = 0;
  for (const segment of playlist.segments) {
    let end = start;
    for (const part of segment.parts) {
      end += part.durationS;
      if (total - end > horizon + DURATION_EPSILON_S) {
        report('part-retention', `segment ${segment.msn} still lists parts more than three target durations from the end`);
        return;
      }
    }
    start += listedDuration(segment);
  }
}

function listedDuration(segment: PlaylistSegment): number {
  return segment.durationS ?? segment.parts.reduce((sum, part) => sum + part.durationS, 0);
}

function checkHints(playlist: MediaPlaylistModel, report: Report): void {
  if (playlist.partHints.length > 1) report('preload-hint-single', `${playlist.partHints.length} EXT-X-PRELOAD-HINT tags with TYPE=PART`);
  if (playlist.mapHintCount > 1) report('preload-hint-single', `${playlist.mapHintCount} EXT-X-PRELOAD-HINT tags with TYPE=MAP`);
  if (playlist.ended && (playlist.partHints.length > 0 || playlist.mapHintCount > 0)) {
    report('preload-hint-endlist', 'a playlist with EXT-X-ENDLIST carries EXT-X-PRELOAD-HINT');
  }
  const segments = playlist.segments;
  segments.forEach((segment, index) => {
    if (segment.hintUri === null) return;
    if (segment.uri !== null || index !== segments.length - 1) {
      report('preload-hint-next-part', `the part hint ${segment.hintUri} comes before the end of segment ${segment.msn}, not after the last part`);
    }
  });
  const listed = new Set(segments.flatMap((s) => [...s.parts.map((p) => p.uri), ...(s.uri ? [s.uri] : [])]));
  for (const uri of playlist.partHints) {
    if (listed.has(uri)) report('preload-hint-next-part', `the part hint ${uri} names a resource already listed`);
  }
}

function checkRenditionReports(playlist: MediaPlaylistModel, options: CheckOptions, report: Report): void {
  const others = options.otherRenditions ?? [];
  for (const uri of others) {
    const count = playlist.renditionReports.filter((r) => r.uri === uri).length;
    if (count !== 1) report('rendition-report', `expected one EXT-X-RENDITION-REPORT for ${uri}, found ${count}`);
  }
  for (const r of playlist.renditionReports) {
    if (!others.includes(r.uri)) report('rendition-report', `EXT-X-RENDITION-REPORT for ${r.uri}, which is not another rendition of this stream`);
  }
}

function checkRequestAnswered(playlist: MediaPlaylistModel, request: DeliveryRequest, report: Report): void {
  if (request.skip !== undefined) {
    const advertised = playlist.serverControl?.canSkipUntilS != null && !playlist.ended;
    // A playlist with nothing older than the Skip Boundary has nothing to replace: the full playlist is the answer.
    if (advertised && playlist.skipTagCount === 0 && hasSkippableSegment(playlist)) {
      report('skip-honoured', `_HLS_skip=${request.skip} was answered without EXT-X-SKIP although segments start before the Skip Boundary`);
    }
    if (!advertised && playlist.skipTagCount > 0) report('skip-unadvertised', 'EXT-X-SKIP in a playlist without CAN-SKIP-UNTIL or with EXT-X-ENDLIST');
  }
  if (request.msn === undefined || playlist.ended) return;
  const last = lastPart(playlist);
  const lastMsn = playlist.segments.at(-1)?.msn ?? -1;
  const satisfied =
    request.part === undefined
      ? lastMsn >= request.msn
      : last !== null && (last.msn > request.msn || (last.msn === request.msn && last.index >= request.part));
  if (!satisfied) {
    const wanted = request.part === undefined ? `segment ${request.msn}` : `part ${request.msn}.${request.part}`;
    report('blocking-satisfied', `a blocking reload for ${wanted} was answered with a playlist that ends at ${last ? `${last.msn}.${last.index}` : `segment ${lastMsn}`}`);
  }
}

/**
 * True when a complete segment lies wholly beyond CAN-SKIP-UNTIL from the playlist's end: a segment that must be
 * skipped however a server reads "older than the Skip Boundary" (by its start or by its end).
 */
function hasSkippableSegment(playlist: MediaPlaylistModel): boolean {
  const boundaryS = playlist.serverControl?.canSkipUntilS;
  if (boundaryS == null) return false;
  let endFromEndS = 0;
  for (let i = playlist.segments.length - 1; i >= 0; i--) {
    const segment = playlist.segments[i]!;
    if (segment.durationS !== null && endFromEndS > boundaryS) return true;
    endFromEndS += segment.durationS ?? segment.parts.reduce((sum, p) => sum + p.durationS, 0);
  }
  return false;
}

interface PartPosition {
  msn: number;
  index: number;
}

function lastPart(playlist: MediaPlaylistModel): PartPosition | null {
  for (let i = playlist.segments.length - 1; i >= 0; i--) {
    const segment = playlist.segments[i]!;
    if (segment.parts.length > 0) return { msn: segment.msn, index: segment.parts.length - 1 };
  }
  return null;
}

function partKeys(playlist: MediaPlaylistModel): string[] {
  return playlist.segments.flatMap((s) => s.parts.map((_, index) => `${s.msn}.${index}`));
}

/** Rules across reloads: what a server may and may not change in a live playlist. */
function checkHistory(snapshots: readonly PlaylistSnapshot[]): Violation[] {
  const found: Violation[] = [];
  const segments = new Map<number, { uri: string; durationS: number }>();
  const parts = new Map<string, { uri: string; durationS: number; independent: boolean }>();
  const pdts = new Map<number, number>();
  // Where each hinted URI may appear: right after the last part of the playlist that hinted it.
  const hinted = new Map<string, PartPosition[]>();
  let mediaSequence = -Infinity;
  let previousFull: MediaPlaylistModel | null = null;
  snapshots.forEach(({ playlist }, index) => {
    const report: Report = (rule, message) => found.push(violation(rule, message, index));
    if (playlist.mediaSequence < mediaSequence) {
      report('media-sequence-monotonic', `EXT-X-MEDIA-SEQUENCE went back from ${mediaSequence} to ${playlist.mediaSequence}`);
    }
    mediaSequence = Math.max(mediaSequence, playlist.mediaSequence);
    for (const segment of playlist.segments) {
      if (segment.uri !== null && segment.durationS !== null) {
        const seen = segments.get(segment.msn);
        if (!seen) segments.set(segment.msn, { uri: segment.uri, durationS: segment.durationS });
        else if (seen.uri !== segment.uri || Math.abs(seen.durationS - segment.durationS) > DURATION_EPSILON_S) {
          report('segment-stable', `segment ${segment.msn} was ${seen.uri} (${seen.durationS} s), now ${segment.uri} (${segment.durationS} s)`);
        }
      }
      if (segment.programDateTimeMs !== null) {
        const seen = pdts.get(segment.msn);
        if (seen === undefined) pdts.set(segment.msn, segment.programDateTimeMs);
        else if (seen !== segment.programDateTimeMs) {
          report('pdt-stable', `segment ${segment.msn}: PROGRAM-DATE-TIME moved from ${new Date(seen).toISOString()} to ${new Date(segment.programDateTimeMs).toISOString()}`);
        }
      }
      segment.parts.forEach((part, partIndex) => {
        const key = `${segment.msn}.${partIndex}`;
        const seen = parts.get(key);
        if (!seen) parts.set(key, { uri: part.uri, durationS: part.durationS, independent: part.independent });
        else if (seen.uri !== part.uri || Math.abs(seen.durationS - part.durationS) > DURATION_EPSILON_S || seen.independent !== part.independent) {
          report('part-stable', `part ${key} was ${describePart(seen)}, now ${describePart(part)}`);
        }
        const allowed = hinted.get(part.uri);
        if (allowed && !allowed.some((p) => p.msn === segment.msn && p.index === partIndex)) {
          report('preload-hint-next-part', `${part.uri} was hinted as the part after the last one listed, but appeared as part ${key}`);
        }
      });
      if (segment.uri !== null && hinted.has(segment.uri)) report('preload-hint-next-part', `${segment.uri} was hinted as a part but appeared as a segment`);
    }
    for (const uri of playlist.partHints) {
      const after = lastPart(playlist);
      const hintMsn = playlist.segments.at(-1)?.msn ?? playlist.mediaSequence;
      const positions = after && after.msn === hintMsn ? [{ msn: hintMsn, index: after.index + 1 }, { msn: hintMsn + 1, index: 0 }] : [{ msn: hintMsn, index: 0 }];
      if (!hinted.has(uri)) hinted.set(uri, positions);
    }
    if (playlist.skipTagCount === 0) {
      if (previousFull) found.push(...checkRemovalOrder(previousFull, playlist, index));
      previousFull = playlist;
    }
  });
  return found;
}

function describePart(part: { uri: string; durationS: number; independent: boolean }): string {
  return `${part.uri} (${part.durationS} s${part.independent ? ', independent' : ''})`;
}

/** Parts (and segments) leave a playlist in the order they appear: nothing may go while something listed before it stays. */
function checkRemovalOrder(before: MediaPlaylistModel, after: MediaPlaylistModel, index: number): Violation[] {
  const now = new Set(partKeys(after));
  const keys = partKeys(before);
  let keptEarlier: string | null = null;
  for (const key of keys) {
    if (now.has(key)) keptEarlier ??= key;
    else if (keptEarlier !== null) {
      return [violation('part-removal-order', `part ${key} was removed while the earlier part ${keptEarlier} is still listed`, index)];
    }
  }
  return [];
}

/** Delta updates: the skip boundary, and the same content as a full playlist answered for the same request at the same live edge. */
function checkDeltas(snapshots: readonly PlaylistSnapshot[]): { violations: Violation[]; pairs: number } {
  const found: Violation[] = [];
  let pairs = 0;
  snapshots.forEach((snapshot, index) => {
    const delta = snapshot.playlist;
    if (delta.skipTagCount === 0) return;
    const report: Report = (rule, message) => found.push(violation(rule, message, index));
    const skipped = delta.skippedSegments ?? 0;
    const boundary = delta.serverControl?.canSkipUntilS;
    if (skipped > 0 && boundary != null) {
      const remaining = delta.segments.reduce((sum, segment) => sum + listedDuration(segment), 0);
      const lastSkipped = snapshots.map((s) => s.playlist.segments.find((seg) => seg.msn === delta.mediaSequence + skipped - 1)).find((s) => s?.durationS != null);
      // A skipped segment must start further from the end than the Skip Boundary.
      const startDistance = remaining + (lastSkipped?.durationS ?? Infinity);
      if (startDistance <= boundary + DURATION_EPSILON_S) {
        report('skip-boundary-respected', `segment ${delta.mediaSequence + skipped - 1} was skipped though it starts within CAN-SKIP-UNTIL ${boundary} s of the end`);
      }
    }
    // Paired by URIs rather than MSNs, so that a wrong SKIPPED-SEGMENTS (which shifts every MSN after it) still pairs and shows.
    const full = snapshots.find(
      (s) =>
        s.playlist.skipTagCount === 0 &&
        s.request?.msn === snapshot.request?.msn &&
        s.request?.part === snapshot.request?.part &&
        liveEdge(s.playlist) === liveEdge(delta),
    );
    if (!full) return;
    pairs++;
    const problem = deltaDifference(full.playlist, delta);
    if (problem) report('delta-consistent', problem);
  });
  return { violations: found, pairs };
}

/** The last listed part or segment and the hint after it, by URI. */
function liveEdge(playlist: MediaPlaylistModel): string {
  const last = playlist.segments.at(-1);
  const lastUri = last?.parts.at(-1)?.uri ?? last?.uri ?? playlist.segments.at(-2)?.uri ?? '';
  return `${lastUri} ${playlist.partHints.join(' ')}`;
}

function deltaDifference(full: MediaPlaylistModel, delta: MediaPlaylistModel): string | null {
  if (delta.mediaSequence !== full.mediaSequence) return `EXT-X-MEDIA-SEQUENCE ${delta.mediaSequence} in the delta update, ${full.mediaSequence} in the full playlist`;
  const skipped = delta.skippedSegments ?? 0;
  if (skipped + delta.segments.length !== full.segments.length) {
    return `SKIPPED-SEGMENTS ${skipped} + ${delta.segments.length} listed != ${full.segments.length} segments in the full playlist`;
  }
  const header = (p: MediaPlaylistModel): string =>
    JSON.stringify([p.targetDurationS, p.partTargetS, p.serverControl, p.mapUri, p.partHints, p.renditionReports, p.independentSegments, p.ended]);
  if (header(delta) !== header(full)) return `the delta update's tags ${header(delta)} differ from the full playlist's ${header(full)}`;
  const tail = full.segments.slice(skipped);
  for (let i = 0; i < tail.length; i++) {
    const a = JSON.stringify(tail[i]);
    const b = JSON.stringify(delta.segments[i]);
    if (a !== b) return `segment ${tail[i]!.msn} differs: full ${a}, delta ${b}`;
  }
  return null;
}

function violation(rule: RuleId, message: string, snapshot: number): Violation {
  const { section, severity } = RULES[rule];
  return { rule, section, severity, message, snapshot };
}

function dedupe(violations: readonly Violation[]): Violation[] {
  const seen = new Set<string>();
  return violations.filter((v) => {
    const key = `${v.rule}|${v.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
