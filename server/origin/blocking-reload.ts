// Delivery directives of a media playlist request (_HLS_msn, _HLS_part, _HLS_skip): parsing, the spec's 400 cases, and when a timeline satisfies them.
import { OriginError } from './errors.ts';

/** What a client asked for; `msn` undefined means a plain (non-blocking) reload. */
export interface DeliveryDirectives {
  msn?: number;
  part?: number;
  /** `_HLS_skip`: parsed now, honoured once the playlist advertises CAN-SKIP-UNTIL (the spec says ignore it until then). */
  skip?: 'YES' | 'v2';
}

/** A blocking reload: wait until the playlist holds segment `msn` (or part `part` of it) or anything later. */
export interface BlockingRequest {
  msn: number;
  part?: number;
}

/** Where a rendition's live edge is, as far as blocking reload cares. */
export interface LiveEdge {
  /** Media sequence number of the last completed segment, or `nextMsn - 1` when none has completed yet. */
  lastCompleteMsn: number;
  /** Last part in the playlist, if any. */
  lastPart?: { msn: number; partIndex: number };
  ended: boolean;
}

// A decimal-integer per the spec, bounded so it stays an exact JavaScript number.
const DECIMAL_INTEGER = /^(0|[1-9][0-9]{0,14})$/;

/** Reads the directives from a playlist request's query string; throws a 400-class OriginError for malformed ones. */
export function parseDeliveryDirectives(query: URLSearchParams, streamName = ''): DeliveryDirectives {
  const directives: DeliveryDirectives = {};
  const msn = query.get('_HLS_msn');
  const part = query.get('_HLS_part');
  const skip = query.get('_HLS_skip');
  if (msn !== null) directives.msn = decimalInteger('_HLS_msn', msn, streamName);
  if (part !== null) {
    if (msn === null) throw new OriginError('bad-directive', streamName, '_HLS_part requires _HLS_msn');
    directives.part = decimalInteger('_HLS_part', part, streamName);
  }
  if (skip !== null) {
    if (skip !== 'YES' && skip !== 'v2') throw new OriginError('bad-directive', streamName, '_HLS_skip must be YES or v2');
    directives.skip = skip;
  }
  return directives;
}

function decimalInteger(name: string, text: string, streamName: string): number {
  if (!DECIMAL_INTEGER.test(text)) throw new OriginError('bad-directive', streamName, `${name} must be a decimal integer`);
  return Number(text);
}

/** The blocking part of the directives, or null for a plain reload. */
export function blockingRequestOf(directives: DeliveryDirectives): BlockingRequest | null {
  if (directives.msn === undefined) return null;
  return directives.part === undefined ? { msn: directives.msn } : { msn: directives.msn, part: directives.part };
}

/** The spec's Advance Part Limit: how many parts past the last one a client may ask for. */
export function advancePartLimit(partTargetMs: number): number {
  return partTargetMs < 1000 ? Math.floor(3000 / partTargetMs) : 3;
}

/**
 * Throws `directive-too-far` (400) when a request looks further ahead than the spec allows:
 * an msn more than two past the last segment, or a part beyond the Advance Part Limit.
 * An ended playlist ignores the directives, so nothing is too far then.
 */
export function assertWithinReach(
  request: BlockingRequest,
  edge: LiveEdge,
  timing: { partTargetMs: number; segmentTargetMs: number },
  streamName = '',
): void {
  if (edge.ended) return;
  if (request.msn > edge.lastCompleteMsn + 2) {
    throw new OriginError('directive-too-far', streamName, `_HLS_msn ${request.msn} is more than two segments past ${edge.lastCompleteMsn}`);
  }
  if (request.part === undefined) return;
  const last = edge.lastPart ?? { msn: edge.lastCompleteMsn + 1, partIndex: -1 };
  const partsPerSegment = Math.ceil(timing.segmentTargetMs / timing.partTargetMs);
  // Parts between the last one listed and the requested one, estimating the unfinished segments at their target length.
  const ahead =
    request.msn <= last.msn
      ? request.part - last.partIndex
      : Math.max(0, partsPerSegment - 1 - last.partIndex) + (request.msn - last.msn - 1) * partsPerSegment + request.part + 1;
  if (ahead > advancePartLimit(timing.partTargetMs)) {
    throw new OriginError('directive-too-far', streamName, `_HLS_part ${request.part} of ${request.msn} is beyond the advance part limit`);
  }
}

/**
 * True when the playlist can be sent: it holds segment `msn` (or later) or, with a part, that part or any later one.
 * A part index past the end of its segment is answered by the next segment's first part, as the spec requires,
 * because any part of a later segment satisfies the request. An ended playlist satisfies everything.
 */
export function isSatisfied(request: BlockingRequest, edge: LiveEdge): boolean {
  if (edge.ended) return true;
  if (request.part === undefined) return edge.lastCompleteMsn >= request.msn;
  const last = edge.lastPart;
  if (!last) return false;
  return last.msn > request.msn || (last.msn === request.msn && last.partIndex >= request.part);
}
