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
import { RenditionCutter, type AudioSample, type VideoSample } from './rendition-cutter.ts';
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

/**
 * Rules it enforces are documented on `push`. Clock: the first clock message fixes the time origin and the segment
 * grid's zero point for the stream's whole life; later ones are ignored, because parts already emitted carry
 * timestamps relative to it and re-anchoring would make program date times jump backwards or forwards.
 */
export class StreamPackager extends TypedEmitter<PackagerEvents> {
  #options: PackagerOptions;
  #clock: ClockMessage | undefined;
  /** Track configurations by wire trackId; frozen at the first chunk. */
  #tracks = new Map<number, TrackConfigMessage>();
  #frozen = false;
  /** One cutter per video track (rendition), by wire trackId. */
  #cutters = new Map<number, RenditionCutter>();
  #audioTrack: AudioTrackConfig | undefined;
  #lastTimestampUs = new Map<number, number>();
  /** The latest audio packet: its duration is known when the next one arrives. */
  #pendingAudio: { sample: AudioSample; durationUs: number } | undefined;
  #lastAudioInterval = 0;
  #longGopWarned = new Set<string>();
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
    for (const cutter of this.#cutters.values()) cutter.end();
    this.emit('end');
  }

  /** Drops everything without emitting and removes listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cutters.clear();
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

    const timeUs = chunk.timestampUs - clock.timestampUs;
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
    for (const video of videos) {
      this.#cutters.set(
        video.trackId,
        new RenditionCutter(
          {
            init: this.#renditionInit(video),
            videoTrackId: VIDEO_MP4_TRACK_ID,
            audioTrackId: AUDIO_MP4_TRACK_ID,
            videoTimescale: VIDEO_TIMESCALE,
            ...(this.#audioTrack && { audioTimescale: this.#audioTrack.sampleRate }),
            partTargetUs: this.#options.partTargetUs,
            grid: segmentGrid(this.#options.segmentTargetUs, this.#options.partTargetUs),
            ...(clock.gridOriginUs !== undefined && { gridOriginUs: clock.gridOriginUs - clock.timestampUs }),
            originWallClockMs: clock.wallClockMs,
          },
          {
            init: (init) => this.emit('init', init),
            chunk: (chunk) => this.emit('chunk', chunk),
            part: (part) => {
              this.emit('part', part);
              if (!part.gap) this.#coverPaused(video.trackId);
            },
            segment: (segment) => {
              this.#checkGop(segment);
              this.emit('segment', segment);
            },
          },
        ),
      );
    }
  }

  #renditionInit(video: VideoTrackConfig): RenditionInit {
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
   * segment target (an encoder that owns its GOP). Segments then run from keyframe to keyframe and the playlist's
   * target duration follows them (server/origin/rendition-timeline.ts); said once per rendition, since it is a setting.
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
