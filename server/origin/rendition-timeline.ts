// One rendition's live timeline: init, the sliding window of segments and their parts (bytes in memory, with each
// segment's digest), and the rates it publishes; requests waiting for it to grow and readers of the part in production
// are kept by waiters.ts and part-fan-out.ts, and an encrypted stream's served bytes are made by encrypted-view.ts.
import { sameBytes } from '../../shared/bytes.ts';
import { createHash } from 'node:crypto';
import { ivAttribute, type StreamKeys } from '../access/index.ts';
import { log } from '../log.ts';
import type { Part, PartChunk, RenditionInit, SegmentInfo } from '../packager/index.ts';
import type { LiveEdge } from './blocking-reload.ts';
import type { OriginConfig } from './config.ts';
import { skipBoundaryS, targetDurationS } from './config.ts';
import { EncryptedView } from './encrypted-view.ts';
import { OriginError } from './errors.ts';
import { PartFanOut, type PartReader } from './part-fan-out.ts';
import type { SegmentDigest } from './playlist/render-digests.ts';
import type { MediaPlaylistSnapshot, SegmentSnapshot } from './playlist/render-media.ts';
import type { VariantSnapshot } from './playlist/render-multivariant.ts';
import { stickyRates, variantRates, type VariantRates } from './variant-bitrate.ts';
import { segmentObjectName } from '../../shared/playback-path.ts';
import { Waiters, type WaitOutcome } from './waiters.ts';

interface StoredPart {
  partIndex: number;
  durationUs: number;
  independent: boolean;
  gap: boolean;
  /** The bytes served: the packager's, or their ciphertext for an encrypted stream. */
  data: Uint8Array;
}

interface StoredSegment {
  msn: number;
  /** The segment follows a discontinuity (its publisher reconnected). */
  discontinuity: boolean;
  /** Index in the rendition's init segments of the one its media needs. */
  initVersion: number;
  durationUs: number;
  programDateTimeMs: number;
  complete: boolean;
  parts: StoredPart[];
  /**
   * The whole segment: the parts' bytes, concatenated (for an encrypted stream, their ciphertext as one run, made at
   * completion); a clear stream's is joined when first asked for, since LL-HLS players read parts.
   */
  data?: Uint8Array;
  /** Bytes of the whole segment, once complete. */
  byteLength?: number;
  /** SHA-256 of `data`, base64, for digests.json: computed when digests.json is first asked for (P2P viewers ask). */
  sha256?: string;
}

/**
 * Rates a rendition published before its current ones, kept so the tracker still admits the P2P swarms of viewers who
 * read an older multivariant playlist (a player reads it once). Published rates change rarely (variant-bitrate.ts).
 */
const PUBLISHED_RATES_KEPT = 8;

export interface RenditionTimelineOptions {
  streamName: string;
  rendition: string;
  epoch: string;
  config: OriginConfig;
  /** The stream's media keys when it is encrypted: every part and segment is then served as AES-128 ciphertext. */
  keys?: StreamKeys;
  /** Called when a segment longer than every one before raises a published EXT-X-TARGETDURATION (the origin counts them). */
  onTargetDurationRaised?: () => void;
}

export class RenditionTimeline {
  readonly streamName: string;
  readonly rendition: string;
  readonly epoch: string;
  #config: OriginConfig;
  /** The init segments of the publish, oldest first: a publisher that reconnects may bring new codec parameters. */
  #inits: RenditionInit[] = [];
  /** Discontinuities of the segments no longer kept: EXT-X-DISCONTINUITY-SEQUENCE counts from them. */
  #discontinuitiesDropped = 0;
  /** Completed segments still kept, oldest first, then the segment in progress if any. */
  #segments: StoredSegment[] = [];
  #waiters = new Waiters();
  #fanOut: PartFanOut;
  #keys: StreamKeys | undefined;
  #encrypted: EncryptedView | undefined;
  /** Rates published so far, oldest first; the last is the one the multivariant playlist shows now. */
  #published: VariantRates[] = [];
  /**
   * EXT-X-TARGETDURATION, which must not change (RFC 8216 §6.2.1): the configured one, or, for a source whose encoder
   * owns its GOP (an RTMP encoder keyed every 4 s on 2 s targets has 4 s segments), the first segment's duration if it
   * rounds to more; raised again only by a later segment longer still, never lowered.
   */
  #targetDurationS: number;
  /**
   * The source's encoder owns its GOP and no segment has completed yet: the playlist is not published (plain requests
   * get 404, blocking ones wait, as before the first part), so the first one a viewer reads already carries the target
   * duration its first segment sets. A browser publisher keys its frames on the grid, so its playlist goes live at its
   * first part, as it always has.
   */
  #awaitingFirstSegment = false;
  #onTargetDurationRaised: (() => void) | undefined;
  #ended = false;
  #closed = false;

  constructor(options: RenditionTimelineOptions) {
    this.streamName = options.streamName;
    this.rendition = options.rendition;
    this.epoch = options.epoch;
    this.#config = options.config;
    this.#targetDurationS = targetDurationS(options.config);
    this.#fanOut = new PartFanOut(options.streamName, options.rendition);
    this.#keys = options.keys;
    this.#encrypted = options.keys && new EncryptedView(options.keys);
    this.#onTargetDurationRaised = options.onTargetDurationRaised;
  }

  /** The latest init segment: the one the multivariant playlist describes. */
  get init(): RenditionInit | undefined {
    return this.#inits.at(-1);
  }

  /** Init segment `version` of the publish (0 is the first). */
  initVersion(version: number): RenditionInit | undefined {
    return this.#inits[version];
  }

  get ended(): boolean {
    return this.#ended;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A playlist can be served once there is an init and at least one part, and, for a source whose encoder owns its GOP,
   * once its first segment is complete.
   */
  get ready(): boolean {
    return this.#inits.length > 0 && !this.#awaitingFirstSegment && this.#segments.some((segment) => segment.parts.length > 0);
  }

  /**
   * The rendition's init segment; a different one (new codec parameters after its publisher reconnected) is a new
   * version, with a URL of its own, for the segments from the next discontinuity on.
   */
  setInit(init: RenditionInit): void {
    if (this.#closed || this.#ended) return;
    const latest = this.#inits.at(-1);
    if (latest && sameBytes(latest.data, init.data)) return;
    if (!latest) {
      this.#publish(variantRates([], init.bandwidth));
      this.#awaitingFirstSegment = init.encoderGop === true;
    }
    this.#inits.push(init);
    this.#waiters.changed();
  }

  /** A chunk of the part in production; chunk 0 must start the part the playlist hints at next. */
  addChunk(chunk: PartChunk): void {
    if (this.#closed || this.#ended) return;
    if (this.#encrypted) chunk = { ...chunk, data: this.#encrypted.chunk(chunk) };
    if (chunk.chunkIndex === 0) {
      // Before the first part, any segment's part 0 may start the rendition.
      this.#fanOut.start(chunk, this.#segments.length === 0 ? { msn: chunk.msn, partIndex: 0 } : this.preloadHint());
      this.#waiters.changed();
      return;
    }
    this.#fanOut.add(chunk);
  }

  /** True while part `msn`.`partIndex` is being produced (its first chunk is in, the part is not complete). */
  producing(msn: number, partIndex: number): boolean {
    return this.#fanOut.producing(msn, partIndex);
  }

  /**
   * Follows the part in production: gives `reader` the chunks produced so far at once, then each new one, then
   * `end` when the part completes (or `abort`). Returns how to stop following, or undefined when that part is not
   * in production.
   */
  followPart(msn: number, partIndex: number, reader: PartReader): (() => void) | undefined {
    return this.#fanOut.follow(msn, partIndex, reader);
  }

  addPart(part: Part): void {
    if (this.#closed || this.#ended) return;
    if (this.#encrypted) {
      const { data, tail } = this.#encrypted.part(part);
      this.#fanOut.complete(part.msn, part.partIndex, data.byteLength, tail);
      part = { ...part, data };
    } else {
      this.#fanOut.complete(part.msn, part.partIndex, part.data.byteLength);
    }
    const current = this.#segments.at(-1);
    if (current && !current.complete) {
      const expected = (current.parts.at(-1)?.partIndex ?? -1) + 1;
      if (part.msn !== current.msn || part.partIndex !== expected) {
        throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: part ${part.msn}.${part.partIndex} where ${current.msn}.${expected} was due`);
      }
      current.parts.push(storedPart(part));
      current.durationUs += part.durationUs;
    } else {
      if ((current && part.msn <= current.msn) || part.partIndex !== 0) {
        throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: part ${part.msn}.${part.partIndex} does not start a new segment`);
      }
      const initVersion = Math.max(0, this.#inits.length - 1);
      const discontinuity = part.discontinuity === true;
      if (current && !discontinuity && current.initVersion !== initVersion) {
        throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition} changed its init segment without a discontinuity`);
      }
      this.#segments.push({
        msn: part.msn,
        discontinuity,
        initVersion,
        durationUs: part.durationUs,
        programDateTimeMs: part.programDateTimeMs,
        complete: false,
        parts: [storedPart(part)],
      });
    }
    this.#waiters.changed();
  }

  completeSegment(info: SegmentInfo): void {
    if (this.#closed || this.#ended) return;
    const current = this.#segments.at(-1);
    if (!current || current.complete || current.msn !== info.msn || current.parts.length !== info.partCount) {
      throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: segment ${info.msn} of ${info.partCount} parts does not match the parts received`);
    }
    current.complete = true;
    current.durationUs = info.durationUs;
    current.programDateTimeMs = info.programDateTimeMs;
    this.#fitTargetDuration(info);
    if (this.#encrypted) current.data = this.#encrypted.segment(info.msn);
    current.byteLength = current.data?.byteLength ?? current.parts.reduce((sum, p) => sum + p.data.byteLength, 0);
    const keep = this.#config.windowSegments + this.#config.keepSegments;
    while (this.#segments.filter((segment) => segment.complete).length > keep) {
      if (this.#segments.shift()?.discontinuity) this.#discontinuitiesDropped++;
    }
    this.#publish(this.#measuredRates());
    this.#waiters.changed();
  }

  /**
   * EXT-X-TARGETDURATION must cover every segment rounded to whole seconds. Before the playlist is published the first
   * segment sets it freely. After, a longer segment (an encoder whose GOP grew, or whose first segment was short) can
   * only raise it, which the spec forbids: the lesser evil, as MediaMTX-class servers choose, since the alternative,
   * cutting the segment at a frame that is not a keyframe, makes a segment that does not start decodable, which players
   * cannot play at all, while a raised target only loosens players' reload timing. Warned with both figures and counted.
   */
  #fitTargetDuration(info: SegmentInfo): void {
    const rounded = Math.round(info.durationUs / 1_000_000);
    const published = !this.#awaitingFirstSegment;
    this.#awaitingFirstSegment = false;
    if (rounded <= this.#targetDurationS) return;
    if (published) {
      log('warn', 'origin.target-duration-raised', {
        stream: this.streamName,
        rendition: this.rendition,
        fromS: this.#targetDurationS,
        toS: rounded,
        segmentMs: Math.round(info.durationUs / 1000),
        hint: "the encoder's keyframe interval grew: keep it constant, at the segment target (SEGMENT_TARGET_MS)",
      });
      this.#onTargetDurationRaised?.();
    }
    this.#targetDurationS = rounded;
  }

  /** The stream ended: the playlist gets EXT-X-ENDLIST and every held request is answered. */
  end(): void {
    if (this.#closed || this.#ended) return;
    this.#ended = true;
    this.#fanOut.abandon(`stream ${this.streamName} ended before the part completed`);
    this.#waiters.end();
  }

  /** Answers every held request with `closed` and refuses further media. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fanOut.abandon(`stream ${this.streamName} closed`);
    this.#waiters.close();
  }

  /** The oldest segment the rendition still serves, if any: the keys of older periods are no longer needed. */
  get firstMsn(): number | undefined {
    return this.#segments[0]?.msn;
  }

  /** The 16 bytes of key period `period`'s key, while the stream is encrypted and holds it. */
  mediaKey(period: number): Uint8Array | undefined {
    return this.#keys?.get(period)?.key;
  }

  liveEdge(): LiveEdge {
    const current = this.#segments.at(-1);
    const lastPart = current?.parts.at(-1);
    const edge: LiveEdge = {
      lastCompleteMsn: current ? (current.complete ? current.msn : current.msn - 1) : -1,
      ended: this.#ended,
    };
    if (current && lastPart) edge.lastPart = { msn: current.msn, partIndex: lastPart.partIndex };
    return edge;
  }

  /** The part the playlist announces next (EXT-X-PRELOAD-HINT), while live. */
  preloadHint(): { msn: number; partIndex: number } | undefined {
    const current = this.#segments.at(-1);
    if (!current || this.#ended) return undefined;
    if (current.complete) return { msn: current.msn + 1, partIndex: 0 };
    return { msn: current.msn, partIndex: (current.parts.at(-1)?.partIndex ?? -1) + 1 };
  }

  snapshot(): MediaPlaylistSnapshot {
    const complete = this.#segments.filter((segment) => segment.complete).slice(-this.#config.windowSegments);
    const current = this.#segments.at(-1);
    const listed = current && !current.complete ? [...complete, current] : complete;
    const firstListed = listed[0] ? this.#segments.indexOf(listed[0]) : this.#segments.length;
    const discontinuitySequence =
      this.#discontinuitiesDropped + this.#segments.slice(0, firstListed).filter((segment) => segment.discontinuity).length;
    const segments: SegmentSnapshot[] = listed.map((segment) => {
      const snapshot: SegmentSnapshot = {
        msn: segment.msn,
        initVersion: segment.initVersion,
        durationUs: segment.durationUs,
        programDateTimeMs: segment.programDateTimeMs,
        complete: segment.complete,
        parts: segment.parts.map(({ partIndex, durationUs, independent, gap }) => ({ partIndex, durationUs, independent, gap })),
      };
      if (this.#keys) {
        // Read only: every listed segment's key was made when its first part was encrypted, and is forgotten only once
        // no listed segment uses it. One missing is a bug, never a reason to list the segment as clear.
        const key = this.#keys.heldFor(segment.msn);
        if (!key) throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: segment ${segment.msn} is listed but its key period's key is gone`);
        snapshot.key = { period: key.period, iv: ivAttribute(key) };
      }
      if (segment.discontinuity) snapshot.discontinuity = true;
      return snapshot;
    });
    const snapshot: MediaPlaylistSnapshot = {
      epoch: this.epoch,
      targetDurationS: this.#targetDurationS,
      partTargetMs: this.#config.partTargetMs,
      segments,
      ended: this.#ended,
    };
    if (discontinuitySequence > 0) snapshot.discontinuitySequence = discontinuitySequence;
    const hint = this.preloadHint();
    if (hint) snapshot.preloadHint = hint;
    // Six target durations: a raised target moves the skip boundary with it, over a window of segments that long.
    const raised = this.#targetDurationS > targetDurationS(this.#config);
    const canSkipUntilS = skipBoundaryS(raised ? { segmentTargetMs: this.#targetDurationS * 1000, windowSegments: this.#config.windowSegments } : this.#config);
    if (canSkipUntilS !== undefined) snapshot.canSkipUntilS = canSkipUntilS;
    return snapshot;
  }

  /** The variant the multivariant playlist lists now: its published rates, which follow the measurement only when it drifts. */
  variant(): VariantSnapshot | undefined {
    const rates = this.#published.at(-1);
    return rates && this.#variantAt(rates);
  }

  /** Every variant published for this rendition still kept, oldest first, the current one last. */
  publishedVariants(): VariantSnapshot[] {
    return this.#published.map((rates) => this.#variantAt(rates)).filter((variant): variant is VariantSnapshot => variant !== undefined);
  }

  /** Digests of the complete segments the rendition still serves (the playlist's window and those kept behind it), oldest first. */
  digests(): SegmentDigest[] {
    return this.#segments
      .filter((segment) => segment.complete)
      .map((segment) => ({ name: segmentObjectName(this.epoch, segment.msn), sha256: (segment.sha256 ??= segmentDigest(segment)) }));
  }

  #variantAt(rates: VariantRates): VariantSnapshot | undefined {
    const init = this.init;
    if (!init) return undefined;
    const variant: VariantSnapshot = {
      rendition: this.rendition,
      bandwidth: rates.peak,
      averageBandwidth: rates.average,
      codecs: init.codecs,
      width: init.width,
      height: init.height,
    };
    if (init.frameRate !== undefined) variant.frameRate = init.frameRate;
    return variant;
  }

  /** Measured over the segments the playlist lists: what a player joining now would fetch. */
  #measuredRates(): VariantRates {
    const window = this.#segments
      .filter((segment) => segment.complete)
      .slice(-this.#config.windowSegments)
      .map((segment) => ({
        bytes: segment.byteLength ?? 0,
        mediaDurationUs: segment.parts.reduce((sum, part) => sum + (part.gap ? 0 : part.durationUs), 0),
      }));
    return variantRates(window, this.init?.bandwidth ?? 0);
  }

  #publish(measured: VariantRates): void {
    const current = this.#published.at(-1);
    const next = stickyRates(current, measured);
    if (next === current) return;
    this.#published.push(next);
    if (this.#published.length > PUBLISHED_RATES_KEPT) this.#published.shift();
  }

  /** A completed part's bytes; undefined while in production, once evicted, or for a gap part (which has no media). */
  part(msn: number, partIndex: number): Uint8Array | undefined {
    const part = this.#segments.find((segment) => segment.msn === msn)?.parts.find((p) => p.partIndex === partIndex);
    return part && !part.gap ? part.data : undefined;
  }

  /** Where the rendition's playlist ends, for EXT-X-RENDITION-REPORT in the other renditions' playlists. */
  report(): { lastMsn: number; lastPart?: number } | undefined {
    const edge = this.liveEdge();
    if (edge.lastPart) return { lastMsn: edge.lastPart.msn, lastPart: edge.lastPart.partIndex };
    return edge.lastCompleteMsn >= 0 ? { lastMsn: edge.lastCompleteMsn } : undefined;
  }

  /** A completed segment's bytes; undefined while in progress or once evicted. */
  segment(msn: number): Uint8Array | undefined {
    const segment = this.#segments.find((s) => s.msn === msn);
    if (!segment?.complete) return undefined;
    segment.data ??= joinParts(segment.parts);
    return segment.data;
  }

  /**
   * Resolves when `condition` holds (checked now and after every change), or with why it never will:
   * the stream ended, `timeoutMs` passed, the timeline closed, or `signal` aborted (a client that went away).
   */
  waitUntil(condition: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return this.#waiters.waitUntil(condition, timeoutMs, signal);
  }

  /** Number of requests currently held on this timeline. */
  get waiting(): number {
    return this.#waiters.size;
  }
}

/** SHA-256 of the bytes served (an encrypted stream's ciphertext): what peers exchange and players check. */
function segmentDigest(segment: StoredSegment): string {
  const hash = createHash('sha256');
  for (const data of segment.data ? [segment.data] : segment.parts.map((p) => p.data)) hash.update(data);
  return hash.digest('base64');
}

function storedPart(part: Part): StoredPart {
  return { partIndex: part.partIndex, durationUs: part.durationUs, independent: part.independent, gap: part.gap === true, data: part.data };
}

/** One buffer per segment; the parts become views of it, so the bytes are held once. */
function joinParts(parts: StoredPart[]): Uint8Array {
  const data = new Uint8Array(parts.reduce((sum, p) => sum + p.data.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    p.data = data.subarray(offset, offset + p.data.byteLength);
    offset += p.data.byteLength;
  }
  return data;
}
