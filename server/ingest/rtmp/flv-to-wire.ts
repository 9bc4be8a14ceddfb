// Turns one RTMP publisher's FLV tags into the wire messages every ingest path hands the packager: tracks, the clock, chunks.
import { sameBytes } from '../../../shared/bytes.ts';
import type { AudioTrackConfig, ChunkMessage, VideoTrackConfig, WireMessage } from '../../../shared/protocol/index.ts';
import { aacConfig } from '../../../shared/codecs/aac.ts';
import { CodecConfigError } from '../../../shared/codecs/errors.ts';
import { avcCodecString, avcPictureSize, parseAvcC } from '../../../shared/codecs/h264.ts';
import { AacFrameClock } from '../aac-frame-clock.ts';
import { RtmpProtocolError } from './errors.ts';
import { parseAudioTag, parseVideoTag } from './flv-tags.ts';
import type { Amf0Value } from './amf0.ts';

export const RTMP_VIDEO_TRACK_ID = 0;
export const RTMP_AUDIO_TRACK_ID = 1;
const AAC_LC = 'mp4a.40.2';

interface VideoConfig {
  avcC: Uint8Array;
  codec: string;
  width: number;
  height: number;
}

interface AudioConfig {
  asc: Uint8Array;
  sampleRate: number;
  channels: number;
}

/** A decoder configuration the shared codec parsers refuse is the publisher's bad media. */
function asMediaError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof CodecConfigError) throw new RtmpProtocolError('bad-media', `the AVC or AAC sequence header: ${err.message}`);
    throw err;
  }
}

function positive(value: Amf0Value): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * The stream starts at the first H.264 keyframe after the video sequence header; the audio track is the AAC
 * sequence header received by then (ffmpeg and OBS send both before any frame), and later audio configurations are
 * ignored. Media timing: FLV timestamps are decode times in ms; a video tag's composition time is its presentation
 * minus its decode time. The first keyframe's composition time (the encoder's B-frame delay) is taken out of every
 * video frame's offset and added to its decode time, so keyframes are presented at their decode time (segments and
 * parts cut on decode times start with what they show first) and every frame keeps its presentation time, in step
 * with the audio. The wall clock is the server's at the first keyframe: RTMP carries none.
 */
export class FlvToWire {
  #now: () => number;
  #video: VideoConfig | undefined;
  #audio: AudioConfig | undefined;
  #metadata: { framerate?: number; videoBitrate?: number; audioBitrate?: number } = {};
  #started = false;
  /** The first keyframe's decode time and composition time, ms. */
  #originMs = 0;
  #delayMs = 0;
  #withAudio = false;
  /** Counts the AAC frames' times, from the first audio frame on. */
  #audioClock: AacFrameClock | undefined;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get started(): boolean {
    return this.#started;
  }

  /** `onMetaData` of `@setDataFrame`: frame rate and bit rates (kbit/s) describe the tracks when they start. */
  metadata(values: Record<string, Amf0Value>): void {
    const framerate = positive(values.framerate);
    const videoKbps = positive(values.videodatarate);
    const audioKbps = positive(values.audiodatarate);
    this.#metadata = {
      ...(framerate !== undefined && { framerate }),
      ...(videoKbps !== undefined && { videoBitrate: Math.round(videoKbps * 1000) }),
      ...(audioKbps !== undefined && { audioBitrate: Math.round(audioKbps * 1000) }),
    };
  }

  video(timestampMs: number, body: Uint8Array): WireMessage[] {
    const tag = parseVideoTag(body);
    if (tag.kind === 'ignored') return [];
    if (tag.kind === 'avc-config') {
      const config = this.#videoConfig(tag.avcC);
      if (this.#started) {
        if (!this.#video || !sameBytes(this.#video.avcC, config.avcC)) {
          throw new RtmpProtocolError('bad-media', 'the H.264 configuration changed mid-stream (a new size or profile): reconnect to change it');
        }
        return [];
      }
      this.#video = config;
      return [];
    }
    if (!this.#video) throw new RtmpProtocolError('bad-media', 'an H.264 frame before the AVC sequence header');
    const messages: WireMessage[] = [];
    if (!this.#started) {
      // Frames before the first keyframe cannot be decoded.
      if (!tag.keyframe) return [];
      messages.push(...this.#start(timestampMs, tag.compositionMs));
    }
    const chunk: ChunkMessage = {
      type: 'chunk',
      trackId: RTMP_VIDEO_TRACK_ID,
      keyframe: tag.keyframe,
      timestampUs: (timestampMs + this.#delayMs) * 1000,
      durationUs: 0,
      data: tag.data,
    };
    const offsetMs = tag.compositionMs - this.#delayMs;
    if (offsetMs !== 0) chunk.compositionOffsetUs = offsetMs * 1000;
    messages.push(chunk);
    return messages;
  }

  audio(timestampMs: number, body: Uint8Array): WireMessage[] {
    const tag = parseAudioTag(body);
    if (tag.kind === 'aac-config') {
      if (!this.#started) this.#audio = { asc: tag.audioSpecificConfig.slice(), ...asMediaError(() => aacConfig(tag.audioSpecificConfig)) };
      return [];
    }
    // Audio before the first keyframe has no part to go in; audio configured too late has no track.
    if (!this.#started || !this.#withAudio || timestampMs < this.#originMs) return [];
    return [{ type: 'chunk', trackId: RTMP_AUDIO_TRACK_ID, keyframe: true, timestampUs: (this.#audioClock ??= new AacFrameClock(this.#audio!.sampleRate)).timeUs(timestampMs * 1000), durationUs: 0, data: tag.data }];
  }

  #videoConfig(avcC: Uint8Array): VideoConfig {
    return asMediaError(() => {
      const sps = parseAvcC(avcC).sps[0]!;
      return { avcC: avcC.slice(), codec: avcCodecString(sps), ...avcPictureSize(sps) };
    });
  }

  #start(timestampMs: number, compositionMs: number): WireMessage[] {
    const video = this.#video!;
    this.#started = true;
    this.#originMs = timestampMs;
    this.#delayMs = Math.max(0, compositionMs);
    this.#withAudio = this.#audio !== undefined;
    const { framerate, videoBitrate, audioBitrate } = this.#metadata;
    const videoTrack: VideoTrackConfig = {
      type: 'track',
      kind: 'video',
      trackId: RTMP_VIDEO_TRACK_ID,
      codec: video.codec,
      description: video.avcC,
      width: video.width,
      height: video.height,
      rendition: `${video.height}p`,
      ...(framerate !== undefined && { framerate }),
      ...(videoBitrate !== undefined && { bitrate: videoBitrate }),
    };
    const messages: WireMessage[] = [videoTrack];
    if (this.#audio) {
      const audioTrack: AudioTrackConfig = {
        type: 'track',
        kind: 'audio',
        trackId: RTMP_AUDIO_TRACK_ID,
        codec: AAC_LC,
        description: this.#audio.asc,
        sampleRate: this.#audio.sampleRate,
        channels: this.#audio.channels,
        ...(audioBitrate !== undefined && { bitrate: audioBitrate }),
      };
      messages.push(audioTrack);
    }
    messages.push({
      type: 'clock',
      timestampUs: timestampMs * 1000,
      // The keyframe arrives now and is shown at its decode time plus the delay: that is now on the wall clock.
      wallClockMs: this.#now() - this.#delayMs,
      gridOriginUs: (timestampMs + this.#delayMs) * 1000,
      encoderGop: true,
    });
    return messages;
  }
}
