// One published stream's packager: wire messages in, CMAF init segments, parts and segments out, per rendition.
import { TypedEmitter } from '../../shared/events.ts';
import { segmentGrid } from '../../shared/segment-grid.ts';
import type {
  AudioTrackConfig,
  ChunkMessage,
  ClockMessage,
  TrackConfigMessage,
  VideoTrackConfig,
  WireMessage,
} from '../../shared/protocol/index.ts';
import { PackagerError } from './errors.ts';
import { initSegment, type TrackEntry } from './mp4/init.ts';
import { RenditionCutter, type AudioSample, type RenditionCutterOptions, type RenditionSink, type VideoSample } from './rendition-cutter.ts';
import {
  AUDIO_MP4_TRACK_ID,
  audioCodecString,
  audioEntry,
  FALLBACK_AUDIO_BITRATE,
  sameTrack,
  validateTrack,
  VIDEO_MP4_TRACK_ID,
  VIDEO_TIMESCALE,
  videoBitrate,
  videoCodecString,
  videoEntry,
} from './track-setup.ts';
import type { PackagerEvents, PackagerOptions, RenditionInit, SegmentInfo } from './types.ts';
import { log } from '../log.ts';

/** Largest composition offset accepted (a B-frame shown up to this long before or after its decode time). */
const MAX_COMPOSITION_OFFSET_US = 10_000_000;
/** Audio packet duration assumed for a last packet when neither the publisher nor a previous packet tells (20 ms). */
const FALLBACK_AUDIO_PACKET_US = 20_000;
/**
 * A rendition counts as paused once another one has parts this many part targets past its latest frame: PART-HOLD-BACK,
 * so a player on it at the hold-back has just played everything there is when its playlist goes on with GAP parts.
 * Longer than a rung's usual lag behind another (frames queued behind audio, a larger rung's slower transport).
 * GAP parts rather than withdrawing the rung from the multivariant playlist: hls.js (1.7) loads that playlist once
 * (`loadSource`), so a withdrawn rung would only stop advancing for the players already on it, while a GAP part is a
 * FRAG_GAP to hls.js, which then loads that time from another rung whose fragment there is not a gap.
 */
const PAUSE_AFTER_PARTS = 3;

/** Where a continuation's media goes on the stream's timeline, set by resume(). */
interface Continuation {
  /** The end of the previous sessions' media, µs on the stream's timeline. */
  startUs: number;
  /** The media sequence number every rendition goes on from. */
  nextMsn: number;
  firstSequenceNumber: number;
}

/**
 * Rules it enforces are documented on `push`. Clock: the first clock message fixes the time origin and the segment
 * grid's zero point for the publish session's whole life; later ones are ignored, because parts already emitted carry
 * timestamps relative to it and re-anchoring would make program date times jump backwards or forwards.
 *
 * A stream outlives a publisher that drops and comes back (interrupt(), then resume()): the new session sends its own
 * clock and tracks, and its media is rebased to follow the previous session's on one timeline that keeps increasing,
 * after a discontinuity, with media sequence numbers that go on where the previous session's stopped.
 */
export class StreamPackager extends TypedEmitter<PackagerEvents> {
  #options: PackagerOptions;
  #clock: ClockMessage | undefined;
  /** Track configurations by wire trackId; frozen at the first chunk. */
  #tracks = new Map<number, TrackConfigMessage>();
  #frozen = false;
  /** One cutter per video track (rendition), by wire trackId. */
  #cutters = new Map<number, RenditionCutter>();
  /** A continuation's renditions that its publisher does not send, paused; by rendition. */
  #absent = new Map<string, RenditionCutter>();
  /** Every rendition's init so far, by rendition: a continuation keeps the renditions it does not send. */
  #inits = new Map<string, RenditionInit>();
  #audioTrack: AudioTrackConfig | undefined;
  #lastTimestampUs = new Map<number, number>();
  /** The latest audio packet: its duration is known when the next one arrives. */
  #pendingAudio: { sample: AudioSample; durationUs: number } | undefined;
  #lastAudioInterval = 0;
  #longGopWarned = new Set<string>();
  /** Added to the session's timeline (its timestamps less its clock's) to place it on the stream's: 0 for the first session. */
  #offsetUs = 0;
  /** Where the current session's media starts on the stream's timeline: set by resume() until its renditions start. */
  #continuation: Continuation | undefined;
  #interrupted = false;
  #ended = false;
  #closed = false;

  constructor(options: PackagerOptions) {
    super();
    this.#options = options;
  }

  get streamName(): string {
    return this.#options.streamName;
  }

  /**
   * Feeds one wire message. Throws PackagerError when the sequence breaks the rules: a clock before the first
   * chunk, all tracks before the first chunk (identical repeats are ignored later), H.264 video with avcC, H.265 with hvcC, VP9, AV1 with its sequence header,
   * Opus or AAC-LC audio, at most one audio track, timestamps not before the origin (video not before the segment
   * grid's origin either, which is not before the clock's) and not going back per track.
   * Ignored after close().
   */
  push(message: WireMessage): void {
    if (this.#closed) return;
    if (this.#ended) throw this.#error('ended', `${message.type} message after the end of the stream`);
    if (this.#interrupted) throw this.#error('interrupted', `${message.type} message while the stream waits for its publisher`);
    switch (message.type) {
      case 'clock':
        if (!this.#clock) this.#pushClock(message);
        return;
      case 'track':
        this.#pushTrack(message);
        return;
      case 'chunk':
        this.#pushChunk(message);
        return;
      case 'end':
        this.end();
        return;
    }
  }

  /** Flushes the pending part and segment of every rendition (emitting them) and emits 'end'. Idempotent. */
  end(): void {
    if (this.#ended || this.#closed) return;
    this.#ended = true;
    this.#flush(false);
    this.emit('end');
  }

  /**
   * The publisher dropped: flushes every rendition's pending part and segment (emitting them), as end() does, but the
   * stream stays live, waiting for resume(). Idempotent.
   */
  interrupt(): void {
    if (this.#ended || this.#closed || this.#interrupted) return;
    this.#interrupted = true;
    this.#flush(true);
    this.#level();
  }

  /**
   * A publisher that drops while its renditions straddle a segment boundary (one cut the segment at the boundary's
   * keyframe, another had not received that keyframe yet) leaves them a media sequence number apart: those behind get
   * GAP segments up to the end of the one ahead, so that every rendition goes on from the same number after the
   * discontinuity.
   */
  #level(): void {
    const cutters = [...this.#cutters.values(), ...this.#absent.values()];
    const ahead = cutters.reduce<RenditionCutter | undefined>((best, c) => (!best || c.nextMsn > best.nextMsn ? c : best), undefined);
    if (!ahead) return;
    for (const cutter of cutters) cutter.padTo(ahead.nextMsn, ahead.partsEndUs);
  }

  /**
   * A new publish session continues the interrupted stream: it starts afresh (clock, tracks, then chunks, under the
   * same rules as the first session), and its media is placed after the end of the previous session's. Renditions it
   * does not send stay in the playlist, paused (GAP parts) as a rung its publisher stopped sending is.
   */
  resume(): void {
    if (!this.#interrupted || this.#ended || this.#closed) return;
    const cutters = new Map<string, RenditionCutter>([...this.#absent]);
    for (const [trackId, cutter] of this.#cutters) {
      const track = this.#tracks.get(trackId);
      if (track?.kind === 'video') cutters.set(track.rendition, cutter);
    }
    // A session that sent no media keeps the previous one's ends. Every rendition goes on from one media sequence
    // number, the highest next one (interrupt() brought the others level with GAP segments), so that their playlists
    // stay aligned for rendition reports and ABR switches.
    const previous = this.#continuation;
    const all = [...cutters.values()];
    this.#continuation = {
      startUs: Math.max(previous?.startUs ?? 0, ...all.map((c) => c.partsEndUs)),
      nextMsn: Math.max(previous?.nextMsn ?? 0, ...all.map((c) => c.nextMsn)),
      firstSequenceNumber: Math.max(previous?.firstSequenceNumber ?? 0, ...all.map((c) => c.sequenceNumber)),
    };
    this.#clock = undefined;
    this.#tracks.clear();
    this.#frozen = false;
    this.#cutters.clear();
    this.#absent.clear();
    this.#audioTrack = undefined;
    this.#lastTimestampUs.clear();
    this.#pendingAudio = undefined;
    this.#lastAudioInterval = 0;
    this.#interrupted = false;
  }

  /** Writes out the pending audio packet and every rendition's pending part and segment; `dropped`: see RenditionCutter.interrupt. */
  #flush(dropped: boolean): void {
    const pending = this.#pendingAudio;
    if (pending && this.#audioTrack) {
      const sampleRate = this.#audioTrack.sampleRate;
      const duration =
        pending.durationUs > 0
          ? this.#toTimescale(pending.durationUs, sampleRate)
          : this.#lastAudioInterval > 0
            ? this.#lastAudioInterval
            : this.#toTimescale(FALLBACK_AUDIO_PACKET_US, sampleRate);
      this.#dispatchAudio({ ...pending.sample, duration });
      this.#pendingAudio = undefined;
    }
    for (const cutter of this.#cutters.values()) {
      if (dropped) cutter.interrupt();
      else cutter.end();
    }
    for (const cutter of this.#absent.values()) cutter.end();
  }

  /** Drops everything without emitting and removes listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cutters.clear();
    this.#absent.clear();
    this.#pendingAudio = undefined;
    this.removeAllListeners();
  }

  #pushClock(clock: ClockMessage): void {
    const { gridOriginUs, timestampUs } = clock;
    if (gridOriginUs !== undefined && !(Number.isFinite(gridOriginUs) && gridOriginUs >= timestampUs)) {
      throw this.#error('invalid-grid-origin', `segment grid origin ${gridOriginUs} µs is before the clock origin ${timestampUs} µs`);
    }
    this.#clock = clock;
  }

  #pushTrack(track: TrackConfigMessage): void {
    if (this.#frozen) {
      const known = this.#tracks.get(track.trackId);
      if (known && sameTrack(known, track)) return;
      throw this.#error('track-change', `track ${track.trackId} changed or was added after the stream started`);
    }
    validateTrack(this.streamName, track);
    for (const other of this.#tracks.values()) {
      if (other.trackId === track.trackId) continue;
      if (track.kind === 'audio' && other.kind === 'audio') {
        throw this.#error('too-many-audio-tracks', `audio tracks ${other.trackId} and ${track.trackId}: at most one`);
      }
      if (track.kind === 'video' && other.kind === 'video' && other.rendition === track.rendition) {
        throw this.#error('duplicate-rendition', `video tracks ${other.trackId} and ${track.trackId} are both ${track.rendition}`);
      }
    }
    this.#tracks.set(track.trackId, track);
  }

  #pushChunk(chunk: ChunkMessage): void {
    const clock = this.#clock;
    if (!clock) throw this.#error('no-clock', 'a clock message must come before the first chunk');
    if (!this.#frozen) this.#freeze(clock);
    const track = this.#tracks.get(chunk.trackId);
    if (!track) throw this.#error('unknown-track', `chunk for unconfigured track ${chunk.trackId}`);
    if (chunk.timestampUs < clock.timestampUs) {
      throw this.#error('timestamp-before-origin', `track ${chunk.trackId} timestamp ${chunk.timestampUs} µs is before the clock origin ${clock.timestampUs} µs`);
    }
    if (track.kind === 'video' && clock.gridOriginUs !== undefined && chunk.timestampUs < clock.gridOriginUs) {
      // Video before the grid's zero point could not be cut on the grid the publisher keys its frames on.
      throw this.#error('timestamp-before-origin', `track ${chunk.trackId} timestamp ${chunk.timestampUs} µs is before the segment grid origin ${clock.gridOriginUs} µs`);
    }
    const last = this.#lastTimestampUs.get(chunk.trackId);
    if (last !== undefined && chunk.timestampUs < last) {
      throw this.#error('timestamp-regression', `track ${chunk.trackId} timestamp ${chunk.timestampUs} µs after ${last} µs`);
    }
    this.#lastTimestampUs.set(chunk.trackId, chunk.timestampUs);

    const timeUs = chunk.timestampUs - clock.timestampUs + this.#offsetUs;
    if (track.kind === 'video') {
      const sample: VideoSample = {
        timeUs,
        decodeTime: this.#toTimescale(timeUs, VIDEO_TIMESCALE),
        keyframe: chunk.keyframe,
        data: chunk.data,
        durationHint: this.#toTimescale(chunk.durationUs, VIDEO_TIMESCALE),
      };
      const offsetUs = chunk.compositionOffsetUs;
      if (offsetUs !== undefined && offsetUs !== 0) {
        if (!Number.isInteger(offsetUs) || Math.abs(offsetUs) > MAX_COMPOSITION_OFFSET_US) {
          throw this.#error('invalid-composition-offset', `track ${chunk.trackId} composition offset ${offsetUs} µs (a whole number within ±${MAX_COMPOSITION_OFFSET_US} µs)`);
        }
        sample.compositionOffset = this.#toTimescale(offsetUs, VIDEO_TIMESCALE);
      }
      this.#cutters.get(track.trackId)?.pushVideo(sample);
      return;
    }
    const decodeTime = this.#toTimescale(timeUs, track.sampleRate);
    const pending = this.#pendingAudio;
    if (pending) {
      const duration = decodeTime - pending.sample.decodeTime;
      this.#lastAudioInterval = duration;
      this.#dispatchAudio({ ...pending.sample, duration });
    }
    this.#pendingAudio = {
      sample: { timeUs, decodeTime, keyframe: true, data: chunk.data, duration: 0 },
      durationUs: chunk.durationUs,
    };
  }

  /** The tracks configured at the first chunk are the stream's tracks: build one init and cutter per rendition. */
  #freeze(clock: ClockMessage): void {
    const videos = [...this.#tracks.values()].filter((t): t is VideoTrackConfig => t.kind === 'video');
    if (videos.length === 0) throw this.#error('no-video', 'no video track configured before the first chunk');
    this.#frozen = true;
    this.#audioTrack = [...this.#tracks.values()].find((t): t is AudioTrackConfig => t.kind === 'audio');
    const continuation = this.#continuation;
    // A continuation's grid origin (else its clock origin) lands where the previous session's media ended.
    const anchorUs = (clock.gridOriginUs ?? clock.timestampUs) - clock.timestampUs;
    this.#offsetUs = continuation ? continuation.startUs - anchorUs : 0;
    const options = {
      videoTrackId: VIDEO_MP4_TRACK_ID,
      audioTrackId: AUDIO_MP4_TRACK_ID,
      videoTimescale: VIDEO_TIMESCALE,
      ...(this.#audioTrack && { audioTimescale: this.#audioTrack.sampleRate }),
      partTargetUs: this.#options.partTargetUs,
      grid: segmentGrid(this.#options.segmentTargetUs, this.#options.partTargetUs),
      ...(clock.gridOriginUs !== undefined && { gridOriginUs: anchorUs + this.#offsetUs }),
      // Program date times stay the new publisher's clock: its origin is where its timestamps start.
      originWallClockMs: clock.wallClockMs - this.#offsetUs / 1000,
    };
    const continuationOf: Pick<RenditionCutterOptions, 'continuation'> = continuation
      ? { continuation: { firstMsn: continuation.nextMsn, firstSequenceNumber: continuation.firstSequenceNumber } }
      : {};
    const sink = (trackId: number | undefined): RenditionSink => ({
      init: (init) => this.emit('init', init),
      chunk: (chunk) => this.emit('chunk', chunk),
      part: (part) => {
        this.emit('part', part);
        if (!part.gap && trackId !== undefined) this.#coverPaused(trackId);
      },
      segment: (segment) => {
        this.#checkGop(segment);
        this.emit('segment', segment);
        const cutter = trackId === undefined ? undefined : this.#cutters.get(trackId);
        if (cutter) for (const absent of this.#absent.values()) absent.mirrorSegment(cutter.partsEndUs);
      },
    });
    for (const video of videos) {
      const init = this.#renditionInit(video, clock.encoderGop === true);
      this.#inits.set(video.rendition, init);
      this.#cutters.set(video.trackId, new RenditionCutter({ ...options, ...continuationOf, init }, sink(video.trackId)));
    }
    if (!continuation) return;
    for (const [rendition, init] of this.#inits) {
      if (videos.some((video) => video.rendition === rendition)) continue;
      const cutter = new RenditionCutter({ ...options, ...continuationOf, init }, sink(undefined));
      cutter.startPaused(continuation.startUs);
      this.#absent.set(rendition, cutter);
    }
  }

  #renditionInit(video: VideoTrackConfig, encoderGop: boolean): RenditionInit {
    const audio = this.#audioTrack;
    const entries: TrackEntry[] = [videoEntry(video)];
    if (audio) entries.push(audioEntry(audio));
    return {
      rendition: video.rendition,
      data: initSegment(entries),
      codecs: audio ? `${videoCodecString(video)},${audioCodecString(audio)}` : videoCodecString(video),
      width: video.width,
      height: video.height,
      ...(video.framerate !== undefined && { frameRate: video.framerate }),
      bandwidth: videoBitrate(video) + (audio ? (audio.bitrate ?? FALLBACK_AUDIO_BITRATE) : 0),
      ...(encoderGop && { encoderGop }),
    };
  }

  /** Rendition `trackId` has a new part: the renditions that stopped getting video follow it with GAP parts. */
  #coverPaused(trackId: number): void {
    const leader = this.#cutters.get(trackId);
    if (!leader) return;
    for (const [id, cutter] of this.#cutters) {
      if (id !== trackId) cutter.coverUntil(leader.partsEndUs, PAUSE_AFTER_PARTS * this.#options.partTargetUs);
    }
  }

  /**
   * A segment longer than the target by more than half a part: the source's keyframes are further apart than the
   * segment target (an encoder that owns its GOP). Segments then run from keyframe to keyframe; the origin publishes
   * such a rendition from its first complete segment on, whose duration sets the playlist's target duration
   * (server/origin/rendition-timeline.ts). Said once per rendition, since it is a setting.
   */
  #checkGop(segment: SegmentInfo): void {
    const { segmentTargetUs, partTargetUs } = this.#options;
    if (segment.durationUs <= segmentTargetUs + partTargetUs / 2 || this.#longGopWarned.has(segment.rendition)) return;
    this.#longGopWarned.add(segment.rendition);
    log('warn', 'packager.long-gop', {
      stream: this.streamName,
      rendition: segment.rendition,
      segmentMs: Math.round(segment.durationUs / 1000),
      targetMs: segmentTargetUs / 1000,
      hint: 'set the encoder\'s keyframe interval to the segment target (SEGMENT_TARGET_MS)',
    });
  }

  #dispatchAudio(sample: AudioSample): void {
    for (const cutter of this.#cutters.values()) cutter.pushAudio(sample);
  }

  #toTimescale(us: number, timescale: number): number {
    return Math.round((us * timescale) / 1_000_000);
  }

  #error(code: PackagerError['code'], message: string): PackagerError {
    return new PackagerError(code, this.streamName, message);
  }
}
