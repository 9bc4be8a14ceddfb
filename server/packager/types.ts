// What the packager produces for the origin: init segments, parts and segment boundaries, per rendition.

/** One rendition's CMAF header: `ftyp` + `moov` with the video track and (muxed) the audio track. */
export interface RenditionInit {
  rendition: string;
  /** ftyp + moov bytes, served as `init.mp4`. */
  data: Uint8Array;
  /** RFC 6381 codecs of the rendition, comma-separated (`avc1.42001f,opus`), for the multivariant playlist. */
  codecs: string;
  width: number;
  height: number;
  frameRate?: number;
  /** Peak bits per second the publisher announced for the rendition (video + audio), for BANDWIDTH. */
  bandwidth: number;
  /**
   * The source's encoder decides where keyframes fall (the clock message's `encoderGop`): segments last as long as its
   * GOP, which only the first complete segment shows.
   */
  encoderGop?: boolean;
}

/**
 * One CMAF chunk of a part being produced: a `moof` + `mdat` pair (one `traf` per track) holding one video frame
 * and the audio received up to its end, emitted as soon as the frame's duration is known (one frame of delay).
 */
export interface PartChunk {
  rendition: string;
  msn: number;
  partIndex: number;
  /** Index of the chunk within its part, from 0; chunk 0 starts the part. */
  chunkIndex: number;
  /** True when the part starts with a video keyframe; only meaningful on chunk 0. */
  independent: boolean;
  data: Uint8Array;
}

/**
 * One LL-HLS partial segment of about the part target: the concatenation of its chunks, byte for byte, emitted
 * after its last chunk. A gap part (`gap`) stands for media that does not exist and has no chunks and no bytes.
 */
export interface Part {
  rendition: string;
  /** Media sequence number of the segment this part belongs to. */
  msn: number;
  /** Index of the part within its segment, from 0. */
  partIndex: number;
  durationUs: number;
  /** True when the part starts with a video keyframe (EXT-X-PART INDEPENDENT=YES). */
  independent: boolean;
  /** Wall-clock time of the part's first video frame, ms since the epoch (from the publisher's clock message). */
  programDateTimeMs: number;
  /** True when no media exists for the part's time (EXT-X-PART GAP=YES); `data` is then empty. */
  gap?: boolean;
  /**
   * Set on part 0 of the first segment after a publisher reconnected (EXT-X-DISCONTINUITY before the segment): the
   * encoder, its timestamps and perhaps its codec parameters (a new init) changed there.
   */
  discontinuity?: boolean;
  data: Uint8Array;
}

/** Emitted after the last part of a segment: the segment is complete and is the concatenation of its parts. */
export interface SegmentInfo {
  rendition: string;
  msn: number;
  durationUs: number;
  partCount: number;
  /** Wall-clock time of the segment's first video frame, ms since the epoch. */
  programDateTimeMs: number;
}

export type PackagerEvents = {
  init: [RenditionInit];
  /** A chunk of the part in production; the part's `part` event follows its last chunk. */
  chunk: [PartChunk];
  part: [Part];
  segment: [SegmentInfo];
  /** The stream ended: every pending part and segment has been emitted before this. */
  end: [];
  error: [Error];
};

export interface PackagerOptions {
  streamName: string;
  /** Part target duration (EXT-X-PART-INF PART-TARGET); each part is at most this long. */
  partTargetUs: number;
  /**
   * Segment target duration. Segments are cut on the first video keyframe at or after each boundary of the shared
   * segment grid (`shared/segment-grid.ts`): a first segment of two parts, then every segment target, counted from
   * the clock message's `gridOriginUs` (else from each rendition's first keyframe).
   */
  segmentTargetUs: number;
}
