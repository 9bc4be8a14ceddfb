// The wire messages a broadcast opens with and sends per chunk, built from encoder outputs: pure functions, no browser needed.
import type { AudioTrackConfig, ChunkMessage, ClockMessage, VideoTrackConfig, WireMessage } from '../../shared/protocol/index.ts';
import type { Rung } from './config.ts';

/** What the clock message is made of: media timestamps are µs since `timeOriginMs` (the page's performance clock). */
interface ClockSource {
  /** The earliest timestamp the stream will send (audio may start a little before the first video frame). */
  clockOriginUs: number;
  /** The first video frame's timestamp: the zero point of the segment grid the keyframe schedule follows. */
  gridOriginUs: number;
  /** `performance.timeOrigin`: wall-clock ms at media timestamp 0. */
  timeOriginMs: number;
}

/** One video rung as the encoder reported it with its first output. */
interface VideoTrackSource {
  rung: Rung;
  /** The encoder's decoder config: its codec string (the level it picked) and avcC. */
  decoderConfig: Pick<VideoDecoderConfig, 'codec' | 'description'>;
}

/** The audio track as configured and as the encoder reported it with its first output. */
export interface AudioTrackSource {
  codec: string;
  /** The encoder's bitrate, else the configured one. */
  bitrate: number;
  decoderConfig: Pick<AudioDecoderConfig, 'sampleRate' | 'numberOfChannels' | 'description'>;
}

interface HeaderSource extends ClockSource {
  framerate: number;
  /** Video rungs in track-id order (0, 1, …), highest first. */
  video: readonly VideoTrackSource[];
  /** The audio track, id video.length; absent when the stream goes out without audio. */
  audio?: AudioTrackSource;
}

/** The minimum part of an EncodedVideoChunk / EncodedAudioChunk a chunk message needs. */
export interface EncodedChunkLike {
  readonly type: 'key' | 'delta';
  readonly timestamp: number;
  readonly duration: number | null;
  readonly byteLength: number;
  copyTo(destination: Uint8Array): void;
}

/** Ties media timestamps to wall-clock time and carries the segment grid's zero point. */
export function clockMessage({ clockOriginUs, gridOriginUs, timeOriginMs }: ClockSource): ClockMessage {
  return { type: 'clock', timestampUs: clockOriginUs, wallClockMs: timeOriginMs + clockOriginUs / 1000, gridOriginUs };
}

function videoTrackMessage(trackId: number, { rung, decoderConfig }: VideoTrackSource, framerate: number): VideoTrackConfig {
  return {
    type: 'track',
    kind: 'video',
    trackId,
    // The encoder may have picked another level than asked for; its own codec string says which.
    codec: decoderConfig.codec || rung.codec,
    rendition: rung.rendition,
    width: rung.width,
    height: rung.height,
    framerate,
    bitrate: rung.bitrate,
    ...(decoderConfig.description && { description: toBytes(decoderConfig.description) }),
  };
}

function audioTrackMessage(trackId: number, { codec, bitrate, decoderConfig }: AudioTrackSource): AudioTrackConfig {
  return {
    type: 'track',
    kind: 'audio',
    trackId,
    codec,
    sampleRate: decoderConfig.sampleRate,
    channels: decoderConfig.numberOfChannels,
    bitrate,
    ...(decoderConfig.description && { description: toBytes(decoderConfig.description) }),
  };
}

/** What a broadcast opens with: the clock, one track message per video rung, then the audio track. */
export function headerMessages(source: HeaderSource): WireMessage[] {
  const messages: WireMessage[] = [clockMessage(source)];
  source.video.forEach((video, trackId) => messages.push(videoTrackMessage(trackId, video, source.framerate)));
  if (source.audio) messages.push(audioTrackMessage(source.video.length, source.audio));
  return messages;
}

/** One encoded frame or packet as a chunk message (its bytes copied out of the encoder's buffer). */
export function chunkMessage(trackId: number, chunk: EncodedChunkLike): ChunkMessage {
  const data = new Uint8Array(chunk.byteLength);
  chunk.copyTo(data);
  return { type: 'chunk', trackId, keyframe: chunk.type === 'key', timestampUs: chunk.timestamp, durationUs: chunk.duration ?? 0, data };
}

/** A copy, so later changes to the encoder's buffer cannot reach a message. */
function toBytes(source: AllowSharedBufferSource): Uint8Array {
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice();
  return new Uint8Array(source).slice();
}
