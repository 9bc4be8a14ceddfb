// Turns one publisher's MPEG-TS bytes into the wire messages every ingest path hands the packager: tracks, the clock, chunks.
import { concatBytes, sameBytes } from '../../../shared/bytes.ts';
import type { AudioTrackConfig, ChunkMessage, VideoTrackConfig, WireMessage } from '../../../shared/protocol/index.ts';
import { aacConfig } from '../../../shared/codecs/aac.ts';
import { CodecConfigError } from '../../../shared/codecs/errors.ts';
import { readAccessUnit, videoDecoderConfig, type VideoCodec, type VideoDecoderConfig } from './access-unit.ts';
import { adtsAudioSpecificConfig, splitAdts, type AdtsFrame } from './adts.ts';
import { AacFrameClock } from '../aac-frame-clock.ts';
import { TsDemuxError } from './errors.ts';
import { TS_AUDIO_WAIT_US, TS_MAX_PENDING_BYTES } from './limits.ts';
import { TransportStreamReader, type PesPacket } from './transport-stream.ts';

export const TS_VIDEO_TRACK_ID = 0;
export const TS_AUDIO_TRACK_ID = 1;
const AAC_LC = 'mp4a.40.2';

interface AudioConfig {
  asc: Uint8Array;
  sampleRate: number;
  channels: number;
}

/**
 * The stream starts at the first video keyframe after the parameter sets; when the program has an AAC stream, its
 * video waits (TS_AUDIO_WAIT_US, TS_MAX_PENDING_BYTES) for the first audio frame, so both tracks are announced before
 * any chunk. Media timing: PES timestamps are 90 kHz; every time is counted from the first keyframe's decode time.
 * As on the RTMP path, the first keyframe's composition offset (the encoder's B-frame delay) is taken out of every
 * video frame's offset and added to its decode time, so keyframes are presented at their decode time and every frame
 * keeps its presentation time, in step with the audio. The wall clock is the server's at the first keyframe: MPEG-TS
 * carries none. Later PMT versions and configuration changes of the audio are ignored; a video configuration change
 * (a new size or profile) ends the stream with 'bad-media', since the packager's tracks are fixed.
 */
export class TsToWire {
  #streamName: string;
  #now: () => number;
  #reader: TransportStreamReader;
  #video: { codec: VideoCodec; config: VideoDecoderConfig } | undefined;
  #audio: AudioConfig | undefined;
  #started = false;
  #withAudio = false;
  /** The first keyframe's decode time (90 kHz, unwrapped) and composition offset (µs). */
  #baseTicks = 0;
  #delayUs = 0;
  #lastVideoDtsUs = Number.NEGATIVE_INFINITY;
  /** Chunks held before the start, from the first keyframe on. */
  #pendingVideo: ChunkMessage[] = [];
  #pendingAudio: ChunkMessage[] = [];
  /** Audio PES packets before the first keyframe, timed once it fixes the time base. */
  #earlyAudio: PesPacket[] = [];
  #pendingBytes = 0;
  /** ADTS bytes of a frame that continues in the next audio PES packet. */
  #adtsRest = new Uint8Array(0);
  /** Counts the AAC frames' times, from the first audio frame on. */
  #audioClock: AacFrameClock | undefined;

  constructor(options: { streamName?: string; now?: () => number } = {}) {
    this.#streamName = options.streamName ?? '';
    this.#now = options.now ?? Date.now;
    this.#reader = new TransportStreamReader(this.#streamName);
  }

  get started(): boolean {
    return this.#started;
  }

  /**
   * Reads the next piece of the transport stream (any size; packets may straddle pieces) and returns the wire messages
   * it completes. Throws TsDemuxError when the bytes are not a usable transport stream; nothing else.
   */
  push(bytes: Uint8Array): WireMessage[] {
    return this.#convert(this.#reader.push(bytes));
  }

  /** The end of the stream: the last video frame (whose PES only ends with the stream) and whatever waited for audio. */
  end(): WireMessage[] {
    const messages = this.#convert(this.#reader.end());
    if (!this.#started && this.#pendingVideo.length > 0) messages.push(...this.#start());
    return messages;
  }

  #convert(packets: readonly PesPacket[]): WireMessage[] {
    const messages: WireMessage[] = [];
    for (const pes of packets) {
      if (pes.codec === 'aac') this.#audioPes(pes, messages);
      else this.#videoPes(pes, pes.codec, messages);
    }
    return messages;
  }

  #videoPes(pes: PesPacket, codec: VideoCodec, messages: WireMessage[]): void {
    const unit = readAccessUnit(codec, pes.data);
    if (unit.parameterSets) {
      const config = videoDecoderConfig(codec, unit.parameterSets, this.#streamName);
      if (this.#started) {
        if (!sameBytes(this.#video!.config.description, config.description)) {
          throw this.#error('bad-media', 'the video configuration changed mid-stream (a new size or profile): reconnect to change it');
        }
      } else {
        // A new configuration before the start: what waited was for the old one.
        if (this.#video && !sameBytes(this.#video.config.description, config.description)) this.#dropPendingVideo();
        this.#video = { codec, config };
      }
    }
    if (!this.#video || unit.sample.byteLength === 0) return;
    const first = !this.#started && this.#pendingVideo.length === 0;
    if (first) {
      // Frames before the first keyframe cannot be decoded.
      if (!unit.keyframe) return;
      this.#baseTicks = pes.dts;
      this.#delayUs = this.#us(pes.pts) - this.#us(pes.dts);
    }
    const dtsUs = this.#us(pes.dts);
    if (dtsUs <= this.#lastVideoDtsUs) throw this.#error('bad-media', `video decode time ${dtsUs} µs after ${this.#lastVideoDtsUs} µs`);
    this.#lastVideoDtsUs = dtsUs;
    const chunk: ChunkMessage = {
      type: 'chunk',
      trackId: TS_VIDEO_TRACK_ID,
      keyframe: unit.keyframe,
      timestampUs: dtsUs + this.#delayUs,
      durationUs: 0,
      data: unit.sample,
    };
    const offsetUs = this.#us(pes.pts) - dtsUs - this.#delayUs;
    if (offsetUs !== 0) chunk.compositionOffsetUs = offsetUs;
    if (this.#started) {
      messages.push(chunk);
      return;
    }
    this.#hold(this.#pendingVideo, chunk);
    if (first) {
      // The audio that came before the keyframe can be timed now.
      for (const held of this.#earlyAudio) this.#audioChunks(held, messages);
      this.#earlyAudio = [];
    }
    this.#maybeStart(messages);
  }

  #audioPes(pes: PesPacket, messages: WireMessage[]): void {
    if (this.#started && !this.#withAudio) return;
    if (!this.#started && this.#pendingVideo.length === 0) {
      this.#holdEarlyAudio(pes);
      return;
    }
    this.#audioChunks(pes, messages);
    this.#maybeStart(messages);
  }

  /** Audio before the first keyframe: the latest TS_AUDIO_WAIT_US of it is kept, as it may play with that keyframe. */
  #holdEarlyAudio(pes: PesPacket): void {
    this.#earlyAudio.push(pes);
    const oldestTicks = pes.pts - (TS_AUDIO_WAIT_US * 9) / 100;
    let bytes = this.#earlyAudio.reduce((sum, p) => sum + p.data.byteLength, 0);
    while (this.#earlyAudio.length > 1 && (this.#earlyAudio[0]!.pts < oldestTicks || bytes > TS_MAX_PENDING_BYTES)) {
      bytes -= this.#earlyAudio.shift()!.data.byteLength;
    }
  }

  #audioChunks(pes: PesPacket, messages: WireMessage[]): void {
    // The PES timestamp is that of the first frame starting in it: a frame completed from the previous packet's rest came before.
    const carried = this.#adtsRest.byteLength > 0 ? 1 : 0;
    const bytes = carried ? concatBytes([this.#adtsRest, pes.data]) : pes.data;
    const { frames, rest } = splitAdts(bytes, this.#streamName);
    this.#adtsRest = rest.slice();
    const first = frames[0];
    if (!first) return;
    this.#audio ??= this.#audioConfig(first);
    // An audio PES packet's PTS is its first frame's; the frames after it are counted 1024 samples on (AacFrameClock).
    const clock = (this.#audioClock ??= new AacFrameClock(this.#audio.sampleRate));
    const ptsUs = this.#us(pes.pts);
    for (let i = 0; i < frames.length; i++) {
      const timeUs = clock.timeUs(ptsUs + (i - carried) * clock.frameUs);
      // Audio before the first keyframe has no part to go in.
      if (timeUs < 0) continue;
      const chunk: ChunkMessage = { type: 'chunk', trackId: TS_AUDIO_TRACK_ID, keyframe: true, timestampUs: timeUs, durationUs: 0, data: frames[i]!.data.slice() };
      if (this.#started) messages.push(chunk);
      else this.#hold(this.#pendingAudio, chunk);
    }
  }

  /** Starts once the audio is known, the program has none, or video waited long enough for it. */
  #maybeStart(messages: WireMessage[]): void {
    const firstVideo = this.#pendingVideo[0];
    if (this.#started || !firstVideo) return;
    const waitedUs = this.#pendingVideo[this.#pendingVideo.length - 1]!.timestampUs - firstVideo.timestampUs;
    const audioExpected = this.#reader.codecs?.includes('aac') ?? false;
    if (this.#audio || !audioExpected || waitedUs >= TS_AUDIO_WAIT_US) messages.push(...this.#start());
  }

  #audioConfig(frame: AdtsFrame): AudioConfig {
    const asc = adtsAudioSpecificConfig(frame);
    try {
      return { asc, ...aacConfig(asc) };
    } catch (err) {
      if (err instanceof CodecConfigError) throw this.#error('bad-media', `ADTS header: ${err.message}`);
      throw err;
    }
  }

  #hold(list: ChunkMessage[], chunk: ChunkMessage): void {
    this.#pendingBytes += chunk.data.byteLength;
    if (this.#pendingBytes > TS_MAX_PENDING_BYTES) {
      throw this.#error('too-large', `over ${TS_MAX_PENDING_BYTES} bytes of media before the stream could start`);
    }
    list.push(chunk);
  }

  #dropPendingVideo(): void {
    this.#pendingBytes -= this.#pendingVideo.reduce((sum, c) => sum + c.data.byteLength, 0);
    this.#pendingVideo = [];
    this.#lastVideoDtsUs = Number.NEGATIVE_INFINITY;
  }

  #start(): WireMessage[] {
    const video = this.#video!.config;
    this.#started = true;
    this.#withAudio = this.#audio !== undefined;
    const videoTrack: VideoTrackConfig = {
      type: 'track',
      kind: 'video',
      trackId: TS_VIDEO_TRACK_ID,
      codec: video.codec,
      description: video.description,
      width: video.width,
      height: video.height,
      rendition: `${video.height}p`,
    };
    const messages: WireMessage[] = [videoTrack];
    if (this.#audio) {
      const audioTrack: AudioTrackConfig = {
        type: 'track',
        kind: 'audio',
        trackId: TS_AUDIO_TRACK_ID,
        codec: AAC_LC,
        description: this.#audio.asc,
        sampleRate: this.#audio.sampleRate,
        channels: this.#audio.channels,
      };
      messages.push(audioTrack);
    }
    // The first keyframe arrives now and is shown at its decode time plus the delay: that is now on the wall clock.
    messages.push({ type: 'clock', timestampUs: 0, wallClockMs: this.#now() - this.#delayUs / 1000, gridOriginUs: this.#delayUs, encoderGop: true });
    const held = [...this.#pendingVideo, ...(this.#withAudio ? this.#pendingAudio : [])].sort((a, b) => a.timestampUs - b.timestampUs);
    messages.push(...held);
    this.#pendingVideo = [];
    this.#pendingAudio = [];
    this.#pendingBytes = 0;
    return messages;
  }

  /** 90 kHz ticks → µs since the first keyframe's decode time. */
  #us(ticks: number): number {
    return Math.round(((ticks - this.#baseTicks) * 100) / 9);
  }

  #error(code: TsDemuxError['code'], message: string): TsDemuxError {
    return new TsDemuxError(code, message, this.#streamName);
  }
}
