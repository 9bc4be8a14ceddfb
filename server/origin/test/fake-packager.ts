// Test double for the packager: emits synthetic inits, chunks, parts and segments (recognisable bytes) the way the real one does.
import { TypedEmitter } from '../../../shared/events.ts';
import type { Part, PackagerEvents, PartChunk, RenditionInit, SegmentInfo } from '../../packager/index.ts';

/** 30 fps frame durations in µs, alternating so their sum drifts from a round number like real capture timestamps. */
const FRAME_US = [33_333, 33_334, 33_333];
export const FRAMES_PER_PART = 6;
export const PARTS_PER_SEGMENT = 10;
/** Each part is streamed as this many chunks before the part itself is emitted. */
export const CHUNKS_PER_PART = 3;
export const PDT_ORIGIN_MS = Date.UTC(2025, 0, 1, 12, 0, 0);

export class FakePackager extends TypedEmitter<PackagerEvents> {
  readonly emitted: { chunks: PartChunk[]; parts: Part[]; segments: SegmentInfo[] } = { chunks: [], parts: [], segments: [] };
  #frame = 0;
  /** Chunks of the part in production. */
  #chunks: PartChunk[] = [];
  #msn: number;
  #partIndex = 0;
  #segmentParts: Part[] = [];
  readonly rendition: string;

  constructor(rendition = 'v0', firstMsn = 0) {
    super();
    this.rendition = rendition;
    this.#msn = firstMsn;
  }

  sendInit(overrides: Partial<RenditionInit> = {}): RenditionInit {
    const init: RenditionInit = {
      rendition: this.rendition,
      data: bytes(64, 7),
      codecs: 'avc1.42001f,opus',
      width: 1280,
      height: 720,
      frameRate: 30,
      bandwidth: 2_628_000,
      ...overrides,
    };
    this.emit('init', init);
    return init;
  }

  /** Emits the next chunk of the part in production (starting one if needed). */
  sendChunk(): PartChunk {
    const chunkIndex = this.#chunks.length;
    if (chunkIndex >= CHUNKS_PER_PART) throw new Error('the part has all its chunks; send the part');
    const chunk: PartChunk = {
      rendition: this.rendition,
      msn: this.#msn,
      partIndex: this.#partIndex,
      chunkIndex,
      independent: this.#independent(),
      data: bytes(30 + this.#partIndex + chunkIndex, this.#msn * 16 + this.#partIndex + chunkIndex * 101),
    };
    this.#chunks.push(chunk);
    this.emitted.chunks.push(chunk);
    this.emit('chunk', chunk);
    return chunk;
  }

  /**
   * Emits the rest of the next part's chunks and then the part, their concatenation (or, with `gap`, a gap part with
   * no chunks and no bytes); after PARTS_PER_SEGMENT parts also emits the segment, as the packager does.
   */
  sendPart(options: { gap?: boolean } = {}): Part {
    if (options.gap && this.#chunks.length > 0) throw new Error('a gap part has no chunks');
    while (!options.gap && this.#chunks.length < CHUNKS_PER_PART) this.sendChunk();
    let durationUs = 0;
    for (let i = 0; i < FRAMES_PER_PART; i++) durationUs += FRAME_US[(this.#frame + i) % FRAME_US.length]!;
    const part: Part = {
      rendition: this.rendition,
      msn: this.#msn,
      partIndex: this.#partIndex,
      durationUs,
      independent: !options.gap && this.#independent(),
      programDateTimeMs: PDT_ORIGIN_MS + Math.round(frameTimeUs(this.#frame) / 1000),
      data: new Uint8Array(Buffer.concat(this.#chunks.map((c) => c.data))),
      ...(options.gap && { gap: true }),
    };
    this.#chunks = [];
    this.#frame += FRAMES_PER_PART;
    this.#partIndex++;
    this.#segmentParts.push(part);
    this.emitted.parts.push(part);
    this.emit('part', part);
    if (this.#partIndex === PARTS_PER_SEGMENT) this.sendSegment();
    return part;
  }

  // Parts 0 start on the boundary keyframe; part 5 stands for an encoder-inserted keyframe inside the segment.
  #independent(): boolean {
    return this.#partIndex === 0 || this.#partIndex === 5;
  }

  sendParts(count: number): void {
    for (let i = 0; i < count; i++) this.sendPart();
  }

  /** Closes the segment in progress (also early, as a scheduled keyframe arriving sooner would). */
  sendSegment(): SegmentInfo {
    const first = this.#segmentParts[0];
    if (!first) throw new Error('no part in the segment');
    const info: SegmentInfo = {
      rendition: this.rendition,
      msn: this.#msn,
      durationUs: this.#segmentParts.reduce((sum, p) => sum + p.durationUs, 0),
      partCount: this.#segmentParts.length,
      programDateTimeMs: first.programDateTimeMs,
    };
    this.#msn++;
    this.#partIndex = 0;
    this.#segmentParts = [];
    this.emitted.segments.push(info);
    this.emit('segment', info);
    return info;
  }

  sendEnd(): void {
    this.emit('end');
  }
}

function frameTimeUs(frame: number): number {
  let us = 0;
  for (let i = 0; i < frame; i++) us += FRAME_US[i % FRAME_US.length]!;
  return us;
}

function bytes(length: number, seed: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (seed * 31 + i) & 0xff;
  return data;
}
