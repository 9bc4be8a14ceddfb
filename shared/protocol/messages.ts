// The publish wire protocol's messages: what a broadcaster sends the origin over its data channels, and the receipts the origin sends back.

/** Bumped on any incompatible change of the framing; the origin refuses other versions. */
export const PROTOCOL_VERSION = 1;

interface TrackConfigBase {
  type: 'track';
  /** 0..MAX_TRACKS-1, unique within a publish session. */
  trackId: number;
  /** RFC 6381 codec string, e.g. `avc1.42001f`, `opus`, `mp4a.40.2`. */
  codec: string;
  /** Decoder configuration record: `avcC` for H.264, the Opus ID header or AAC AudioSpecificConfig. */
  description?: Uint8Array;
  /** Target bitrate of the encoder, bits per second. */
  bitrate?: number;
}

export interface VideoTrackConfig extends TrackConfigBase {
  kind: 'video';
  width: number;
  height: number;
  framerate?: number;
  /** Name of the ABR rung this track is (`[a-z0-9]{1,16}`, e.g. `720p`). */
  rendition: string;
}

export interface AudioTrackConfig extends TrackConfigBase {
  kind: 'audio';
  sampleRate: number;
  channels: number;
}

/** Sent when a track starts or its configuration changes; always before the track's first chunk. */
export type TrackConfigMessage = VideoTrackConfig | AudioTrackConfig;

/** One encoded frame (video) or packet (audio). */
export interface ChunkMessage {
  type: 'chunk';
  trackId: number;
  keyframe: boolean;
  /** Capture timestamp, microseconds, on the publisher's media clock. */
  timestampUs: number;
  /** Duration, microseconds; 0 when unknown (the packager then uses the next chunk's timestamp). */
  durationUs: number;
  /**
   * Video only: presentation minus decode time, microseconds (signed), for encoders that reorder frames (H.264
   * B-frames); `timestampUs` is then the decode time. Absent means 0. Set by the RTMP ingest from FLV composition
   * times; the data-channel framing does not carry it (WebCodecs encoders emit frames in presentation order).
   */
  compositionOffsetUs?: number;
  data: Uint8Array;
}

/**
 * Ties the publisher's media clock to wall-clock time, so the origin can write EXT-X-PROGRAM-DATE-TIME, and tells
 * where the segment grid (`shared/segment-grid.ts`) starts, so every rendition is cut on the same boundaries.
 */
export interface ClockMessage {
  type: 'clock';
  timestampUs: number;
  /** Milliseconds since the Unix epoch at `timestampUs`. */
  wallClockMs: number;
  /**
   * The segment grid's zero point on the publisher's media clock (µs, not before `timestampUs`): the publisher's
   * keyframes fall on boundaries counted from it. Without it the packager counts each rendition's grid from that
   * rendition's first keyframe, which only agrees across renditions when every one starts on the same frame.
   */
  gridOriginUs?: number;
  /**
   * True when the encoder, not the grid, decides where keyframes fall (RTMP, SRT and WHIP encoders: the keyframe
   * interval is a setting of theirs): segments then run from keyframe to keyframe and last as long as its GOP, which
   * the origin learns from the first one. Set by those ingest paths; the data-channel framing does not carry it (the
   * browser publisher keys its frames on the grid).
   */
  encoderGop?: boolean;
}

/** The publisher stops on purpose: the stream ends at once, without a reconnect grace period. */
export interface EndMessage {
  type: 'end';
}

export type WireMessage = TrackConfigMessage | ChunkMessage | ClockMessage | EndMessage;

/** What the ingest received on one track's channel so far: every frame's bytes, headers included. */
export interface ChannelReceipt {
  trackId: number;
  bytes: number;
}

/**
 * Server → publisher, on the control channel, every ~100 ms while frames arrive: what has arrived so far, per track
 * channel. The publisher paces on it (bytes handed to its channels minus bytes received are in flight); a publisher
 * that ignores it works as before. The ingest refuses one coming from a publisher.
 */
export interface ReceiptMessage {
  type: 'receipt';
  channels: ChannelReceipt[];
}

/** Everything the server sends a publisher. */
export type ServerMessage = ReceiptMessage;
