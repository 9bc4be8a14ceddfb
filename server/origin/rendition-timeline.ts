// One rendition's live timeline: init, the sliding window of segments and their parts (bytes in memory), and requests waiting for it to grow.
import type { Part, PartChunk, RenditionInit, SegmentInfo } from '../packager/index.ts';
import type { LiveEdge } from './blocking-reload.ts';
import type { OriginConfig } from './config.ts';
import { skipBoundaryS, targetDurationS } from './config.ts';
import { OriginError } from './errors.ts';
import type { MediaPlaylistSnapshot, SegmentSnapshot } from './playlist/render-media.ts';
import type { VariantSnapshot } from './playlist/render-multivariant.ts';

/** How a wait ended: its condition held, the stream ended first, it ran out of time, the timeline closed, or the caller gave up. */
export type WaitOutcome = 'ready' | 'ended' | 'timeout' | 'closed' | 'aborted';

interface StoredPart {
  partIndex: number;
  durationUs: number;
  independent: boolean;
  gap: boolean;
  data: Uint8Array;
}

/** Someone following a part while it is produced (a streamed HTTP response): fed the part's chunks as they come. */
export interface PartReader {
  chunk(data: Uint8Array): void;
  /** The part is complete: every chunk has been given. */
  end(): void;
  /** The part will never complete (the stream closed or broke off mid-part). */
  abort(reason: string): void;
}

/** The part in production: its chunks so far, shared by every reader (no per-reader copies). */
interface ProducingPart {
  msn: number;
  partIndex: number;
  chunks: Uint8Array[];
  readers: Set<PartReader>;
}

interface StoredSegment {
  msn: number;
  durationUs: number;
  programDateTimeMs: number;
  complete: boolean;
  parts: StoredPart[];
  /** The whole segment once complete: the parts' bytes, concatenated. */
  data?: Uint8Array;
}

interface Waiter {
  condition: () => boolean;
  settle: (outcome: WaitOutcome) => void;
}

export interface RenditionTimelineOptions {
  streamName: string;
  rendition: string;
  epoch: string;
  config: OriginConfig;
}

export class RenditionTimeline {
  readonly streamName: string;
  readonly rendition: string;
  readonly epoch: string;
  #config: OriginConfig;
  #init: RenditionInit | undefined;
  /** Completed segments still kept, oldest first, then the segment in progress if any. */
  #segments: StoredSegment[] = [];
  #waiters = new Set<Waiter>();
  #producing: ProducingPart | undefined;
  #ended = false;
  #closed = false;

  constructor(options: RenditionTimelineOptions) {
    this.streamName = options.streamName;
    this.rendition = options.rendition;
    this.epoch = options.epoch;
    this.#config = options.config;
  }

  get init(): RenditionInit | undefined {
    return this.#init;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A playlist can be served once there is an init and at least one part. */
  get ready(): boolean {
    return this.#init !== undefined && this.#segments.some((segment) => segment.parts.length > 0);
  }

  setInit(init: RenditionInit): void {
    if (this.#closed || this.#ended) return;
    if (this.#init && !sameBytes(this.#init.data, init.data)) {
      // The init's URL is immutable for the epoch; new codec parameters need a new publish (or a discontinuity, not supported yet).
      throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition} changed its init segment mid-stream`);
    }
    this.#init = init;
    this.#notify();
  }

  /** A chunk of the part in production; chunk 0 must start the part the playlist hints at next. */
  addChunk(chunk: PartChunk): void {
    if (this.#closed || this.#ended) return;
    const producing = this.#producing;
    if (chunk.chunkIndex === 0) {
      // Before the first part, any segment's part 0 may start the rendition.
      const hint = this.#segments.length === 0 ? { msn: chunk.msn, partIndex: 0 } : this.preloadHint();
      if (producing || !hint || hint.msn !== chunk.msn || hint.partIndex !== chunk.partIndex) {
        throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: chunk of part ${chunk.msn}.${chunk.partIndex} where ${hint ? `${hint.msn}.${hint.partIndex}` : 'nothing'} was due`);
      }
      this.#producing = { msn: chunk.msn, partIndex: chunk.partIndex, chunks: [chunk.data], readers: new Set() };
      this.#notify();
      return;
    }
    if (!producing || producing.msn !== chunk.msn || producing.partIndex !== chunk.partIndex || producing.chunks.length !== chunk.chunkIndex) {
      throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: chunk ${chunk.chunkIndex} of part ${chunk.msn}.${chunk.partIndex} out of order`);
    }
    producing.chunks.push(chunk.data);
    for (const reader of [...producing.readers]) reader.chunk(chunk.data);
  }

  /** True while part `msn`.`partIndex` is being produced (its first chunk is in, the part is not complete). */
  producing(msn: number, partIndex: number): boolean {
    return this.#producing?.msn === msn && this.#producing.partIndex === partIndex;
  }

  /**
   * Follows the part in production: gives `reader` the chunks produced so far at once, then each new one, then
   * `end` when the part completes (or `abort`). Returns how to stop following, or undefined when that part is not
   * in production.
   */
  followPart(msn: number, partIndex: number, reader: PartReader): (() => void) | undefined {
    const producing = this.#producing;
    if (!producing || producing.msn !== msn || producing.partIndex !== partIndex) return undefined;
    for (const data of producing.chunks) reader.chunk(data);
    producing.readers.add(reader);
    return () => producing.readers.delete(reader);
  }

  addPart(part: Part): void {
    if (this.#closed || this.#ended) return;
    this.#completeProducing(part);
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
      this.#segments.push({ msn: part.msn, durationUs: part.durationUs, programDateTimeMs: part.programDateTimeMs, complete: false, parts: [storedPart(part)] });
    }
    this.#notify();
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
    // One buffer per segment; the parts become views of it, so the bytes are held once.
    const data = new Uint8Array(current.parts.reduce((sum, p) => sum + p.data.byteLength, 0));
    let offset = 0;
    for (const p of current.parts) {
      data.set(p.data, offset);
      p.data = data.subarray(offset, offset + p.data.byteLength);
      offset += p.data.byteLength;
    }
    current.data = data;
    const keep = this.#config.windowSegments + this.#config.keepSegments;
    while (this.#segments.filter((segment) => segment.complete).length > keep) this.#segments.shift();
    this.#notify();
  }

  /** The stream ended: the playlist gets EXT-X-ENDLIST and every held request is answered. */
  end(): void {
    if (this.#closed || this.#ended) return;
    this.#ended = true;
    this.#abandonProducing(`stream ${this.streamName} ended before the part completed`);
    this.#notify();
  }

  /** Answers every held request with `closed` and refuses further media. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abandonProducing(`stream ${this.streamName} closed`);
    for (const waiter of [...this.#waiters]) waiter.settle('closed');
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
    const segments: SegmentSnapshot[] = listed.map((segment) => ({
      msn: segment.msn,
      durationUs: segment.durationUs,
      programDateTimeMs: segment.programDateTimeMs,
      complete: segment.complete,
      parts: segment.parts.map(({ partIndex, durationUs, independent, gap }) => ({ partIndex, durationUs, independent, gap })),
    }));
    const snapshot: MediaPlaylistSnapshot = {
      epoch: this.epoch,
      targetDurationS: targetDurationS(this.#config),
      partTargetMs: this.#config.partTargetMs,
      segments,
      ended: this.#ended,
    };
    const hint = this.preloadHint();
    if (hint) snapshot.preloadHint = hint;
    const canSkipUntilS = skipBoundaryS(this.#config);
    if (canSkipUntilS !== undefined) snapshot.canSkipUntilS = canSkipUntilS;
    return snapshot;
  }

  variant(): VariantSnapshot | undefined {
    const init = this.#init;
    if (!init) return undefined;
    const variant: VariantSnapshot = { rendition: this.rendition, bandwidth: init.bandwidth, codecs: init.codecs, width: init.width, height: init.height };
    if (init.frameRate !== undefined) variant.frameRate = init.frameRate;
    return variant;
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
    return this.#segments.find((segment) => segment.msn === msn)?.data;
  }

  /**
   * Resolves when `condition` holds (checked now and after every change), or with why it never will:
   * the stream ended, `timeoutMs` passed, the timeline closed, or `signal` aborted (a client that went away).
   */
  waitUntil(condition: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.#closed) return Promise.resolve('closed');
    if (condition()) return Promise.resolve('ready');
    if (this.#ended) return Promise.resolve('ended');
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const onAbort = (): void => waiter.settle('aborted');
      const timer = setTimeout(() => waiter.settle('timeout'), timeoutMs);
      const waiter: Waiter = {
        condition,
        settle: (outcome) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#waiters.delete(waiter);
          resolve(outcome);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Number of requests currently held on this timeline. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** The part in production completes with `part`, whose bytes must be its chunks' concatenation. */
  #completeProducing(part: Part): void {
    const producing = this.#producing;
    if (!producing) return;
    if (producing.msn !== part.msn || producing.partIndex !== part.partIndex) {
      throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: part ${part.msn}.${part.partIndex} completed while ${producing.msn}.${producing.partIndex} was in production`);
    }
    const streamed = producing.chunks.reduce((sum, c) => sum + c.byteLength, 0);
    if (streamed !== part.data.byteLength) {
      throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: part ${part.msn}.${part.partIndex} is ${part.data.byteLength} bytes, its chunks ${streamed}`);
    }
    this.#producing = undefined;
    for (const reader of producing.readers) reader.end();
  }

  #abandonProducing(reason: string): void {
    const producing = this.#producing;
    this.#producing = undefined;
    for (const reader of producing?.readers ?? []) reader.abort(reason);
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.condition()) waiter.settle('ready');
      else if (this.#ended) waiter.settle('ended');
    }
  }
}

function storedPart(part: Part): StoredPart {
  return { partIndex: part.partIndex, durationUs: part.durationUs, independent: part.independent, gap: part.gap === true, data: part.data };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
