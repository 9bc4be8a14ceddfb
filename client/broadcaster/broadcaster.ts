// The Broadcaster: capture → encode (one VideoEncoder per rung + one AudioEncoder) → wire messages → transport; state and stats.
import { TypedEmitter } from '../../shared/events.ts';
import type { AudioTrackConfig, VideoTrackConfig, WireMessage } from '../../shared/protocol/index.ts';
import { segmentGrid } from '../../shared/segment-grid.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';
import { AudioTrackEncoder, pickAudioConfig } from './audio-encoder.ts';
import { openSource } from './capture.ts';
import { resolveConfig, type BroadcasterConfig } from './config.ts';
import { BroadcastError } from './errors.ts';
import { KeyframeSchedule } from './keyframe-schedule.ts';
import { WebRtcPublisher } from './publisher.ts';
import { nowUs, type CaptureSource, type SourceKind } from './source.ts';
import type { PublishTransport, TransportConnector } from './transport.ts';
import { RungEncoder } from './video-encoder.ts';
import { WireWriter } from './wire-writer.ts';

export type BroadcasterState = 'idle' | 'connecting' | 'live' | 'error';

export interface BroadcasterStats {
  state: BroadcasterState;
  source: SourceKind;
  /** Video frames per second sent on the top rung, over the last stats interval. */
  fps: number;
  /** Everything sent (all tracks, framing included), kbit/s over the last stats interval. */
  bitrateKbps: number;
  /** Captured video frames not encoded because of back-pressure or a full encoder queue. */
  droppedFrames: number;
  /** Frames waiting in the busiest video encoder. */
  encoderQueue: number;
  /** Median time from a frame's capture to its encoded output on the top rung, over the last 3 s; null before any. */
  encodeLatencyMs: number | null;
  /** The transport's connection state (RTCPeerConnectionState for WebRTC), `new` before it exists. */
  connectionState: string;
  /** Video frames sent on the top rung. */
  framesSent: number;
  keyframesSent: number;
  audioChunksSent: number;
  bytesSent: number;
  /** Bytes queued on the data channel. */
  bufferedBytes: number;
  timeLiveMs: number;
  videoCodec: string | null;
  audioCodec: string | null;
  renditions: string[];
  segmentTargetMs: number | null;
  error: string | null;
  errorCode: string | null;
}

export type BroadcasterEvents = {
  state: [BroadcasterState];
  stats: [BroadcasterStats];
  error: [BroadcastError];
  /** The captured picture to show, or null when capture stopped. */
  preview: [MediaStream | HTMLCanvasElement | null];
};

export interface BroadcasterOptions {
  streamName: string;
  source: SourceKind;
  config?: Partial<BroadcasterConfig>;
  /** Where the publish session goes; the default is the WebRTC publisher on the page's origin. */
  connect?: TransportConnector;
}

/** How long after the first video output the first audio output may lag before the stream goes out without audio. */
const AUDIO_START_TIMEOUT_MS = 2000;

type Pending = { trackId: number; chunk: EncodedVideoChunk | EncodedAudioChunk };

/** Everything one go-live owns; dropped whole on stop or failure. */
interface Session {
  source?: CaptureSource;
  rungs: RungEncoder[];
  audioCodec?: AudioEncoderConfig;
  audio?: AudioTrackEncoder;
  audioGaveUp: boolean;
  transport?: PublishTransport;
  writer?: WireWriter;
  schedule?: KeyframeSchedule;
  segmentTargetUs: number;
  /** The origin's part target, when it announced one: the first segment is then two parts long. */
  partTargetUs: number | undefined;
  originUs?: number;
  lastVideoUs: number;
  firstVideoOutputAt?: number;
  ready: boolean;
  pending: Pending[];
  liveSince?: number;
  /** No more input is taken; encoded output still goes out until `closed`. */
  stopping: boolean;
  closed: boolean;
}

export class Broadcaster extends TypedEmitter<BroadcasterEvents> {
  readonly streamName: string;
  readonly sourceKind: SourceKind;
  readonly config: BroadcasterConfig;
  #connect: TransportConnector;
  #state: BroadcasterState = 'idle';
  #error: BroadcastError | null = null;
  #session: Session | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #counters = { framesSent: 0, keyframesSent: 0, audioChunksSent: 0, dropped: 0 };
  #encodeLatenciesMs: number[] = [];
  #window = { at: 0, frames: 0, bytes: 0 };
  #fps = 0;
  #bitrateKbps = 0;
  #videoCodec: string | null = null;
  #audioCodec: string | null = null;

  constructor(options: BroadcasterOptions) {
    super();
    this.streamName = options.streamName;
    this.sourceKind = options.source;
    this.config = resolveConfig(options.config);
    this.#connect = options.connect ?? ((name, limits) => WebRtcPublisher.connect(name, limits));
  }

  get state(): BroadcasterState {
    return this.#state;
  }

  /** Goes live; resolves when live, or rejects with the BroadcastError also reported as `error`. */
  async start(): Promise<void> {
    if (this.#state === 'connecting' || this.#state === 'live') return;
    this.#error = null;
    this.#counters = { framesSent: 0, keyframesSent: 0, audioChunksSent: 0, dropped: 0 };
    this.#encodeLatenciesMs = [];
    this.#fps = 0;
    this.#bitrateKbps = 0;
    const session: Session = { rungs: [], audioGaveUp: false, segmentTargetUs: 0, partTargetUs: undefined, lastVideoUs: -Infinity, ready: false, pending: [], stopping: false, closed: false };
    this.#session = session;
    this.#setState('connecting');
    try {
      if (!isValidStreamName(this.streamName)) {
        throw new BroadcastError('invalid-stream-name', `“${this.streamName}” can't be a stream name: use 1 to 64 lowercase letters, digits, “-” or “_”.`, this.streamName);
      }
      const top = this.config.ladder[0]!;
      session.rungs = await Promise.all(this.config.ladder.map((rung) => RungEncoder.create(rung, this.config.framerate)));
      this.#checkOpen(session);
      session.audioCodec = (await pickAudioConfig(this.config.audio)) ?? undefined;
      this.#checkOpen(session);
      session.source = await openSource(this.sourceKind, {
        streamName: this.streamName,
        width: top.width,
        height: top.height,
        framerate: this.config.framerate,
        sampleRate: this.config.audio.sampleRate,
        channels: this.config.audio.channels,
      });
      this.#checkOpen(session);
      this.emit('preview', session.source.preview);
      if (session.source.hasAudio && !session.audioCodec) {
        throw new BroadcastError('encoder-unsupported', `This browser can't encode audio as AAC or Opus. Use a recent Chrome, Edge or Safari.`, this.streamName);
      }
      const transport = await this.#connect(this.streamName, {
        maxBufferedBytes: this.config.maxBufferedBytes,
        lowBufferedBytes: this.config.lowBufferedBytes,
      });
      if (session.stopping) {
        await transport.close();
        return;
      }
      session.transport = transport;
      session.writer = new WireWriter(transport);
      session.segmentTargetUs = (transport.segmentTargetMs ?? this.config.segmentTargetMs) * 1000;
      session.partTargetUs = transport.partTargetMs === undefined ? undefined : transport.partTargetMs * 1000;
      transport.on('failure', (err) => void this.#fail(session, err, false));
      transport.on('state', () => this.#emitStats());
      this.#wire(session);
      session.source.start();
      this.#statsTimer = setInterval(() => this.#emitStats(), this.config.statsIntervalMs);
      await this.#live(session);
      if (this.#state === 'error' && this.#error) throw this.#error;
    } catch (err) {
      if (err === this.#error) throw err;
      if (session.stopping) return;
      const error = err instanceof BroadcastError
        ? err
        : new BroadcastError('capture-failed', `Something went wrong while going live (${String(err)}).`, this.streamName, { cause: err });
      await this.#fail(session, error, false);
      throw error;
    }
  }

  /** Stops: flushes the encoders, sends `end`, closes the connection, releases the devices. */
  async stop(): Promise<void> {
    const session = this.#session;
    if (!session || session.stopping) return;
    await this.#teardown(session, true);
    this.#setState('idle');
  }

  /** Stops and drops every listener. */
  async close(): Promise<void> {
    await this.stop();
    this.removeAllListeners();
  }

  stats(): BroadcasterStats {
    const session = this.#session;
    const live = session && !session.closed && session.liveSince !== undefined;
    return {
      state: this.#state,
      source: this.sourceKind,
      fps: this.#fps,
      bitrateKbps: this.#bitrateKbps,
      droppedFrames: this.#counters.dropped,
      encoderQueue: session && !session.closed ? Math.max(0, ...session.rungs.map((r) => r.queueSize)) : 0,
      encodeLatencyMs: median(this.#encodeLatenciesMs),
      connectionState: session?.transport && !session.closed ? session.transport.connectionState : this.#state === 'error' ? 'closed' : 'new',
      framesSent: this.#counters.framesSent,
      keyframesSent: this.#counters.keyframesSent,
      audioChunksSent: this.#counters.audioChunksSent,
      bytesSent: session?.writer?.bytesSent ?? 0,
      bufferedBytes: session?.transport && !session.closed ? session.transport.bufferedAmount : 0,
      timeLiveMs: live ? Math.round(performance.now() - session.liveSince!) : 0,
      videoCodec: this.#videoCodec,
      audioCodec: this.#audioCodec,
      renditions: this.config.ladder.map((r) => r.rendition),
      segmentTargetMs: session?.segmentTargetUs ? session.segmentTargetUs / 1000 : null,
      error: this.#error?.message ?? null,
      errorCode: this.#error?.code ?? null,
    };
  }

  #checkOpen(session: Session): void {
    if (session.stopping) throw new BroadcastError('capture-failed', 'stopped while starting', this.streamName);
  }

  #wire(session: Session): void {
    const source = session.source!;
    source.on('video', (frame) => this.#onFrame(session, frame));
    source.on('audio', (data) => this.#onAudio(session, data));
    source.on('ended', () => {
      void this.#fail(session, new BroadcastError('capture-ended', 'Sharing stopped, so the broadcast ended. Press Go live to start again.', this.streamName), true);
    });
    source.on('error', (err) => {
      void this.#fail(session, new BroadcastError('capture-failed', `Capture stopped unexpectedly (${String(err)}).`, this.streamName, { cause: err }), true);
    });
    session.rungs.forEach((rung, trackId) => {
      rung.on('chunk', (chunk) => this.#onChunk(session, trackId, chunk));
      rung.on('error', (err) => void this.#fail(session, err, true));
    });
  }

  #onFrame(session: Session, frame: VideoFrame): void {
    try {
      if (session.stopping || frame.timestamp <= session.lastVideoUs) return;
      session.lastVideoUs = frame.timestamp;
      if (session.originUs === undefined) {
        session.originUs = frame.timestamp;
        session.schedule = new KeyframeSchedule(frame.timestamp, segmentGrid(session.segmentTargetUs, session.partTargetUs));
      }
      const schedule = session.schedule!;
      if (session.transport?.congested) {
        // Frames dropped before encoding leave no hole in the bitstream; the keyframe lets the origin cut a fresh part.
        this.#counters.dropped++;
        schedule.forceKeyframe();
        return;
      }
      if (session.rungs.some((r) => r.queueSize > this.config.maxEncodeQueue)) {
        this.#counters.dropped++;
        return;
      }
      const keyFrame = schedule.next(frame.timestamp);
      for (const rung of session.rungs) rung.encode(frame, keyFrame);
    } finally {
      frame.close();
    }
  }

  #onAudio(session: Session, data: AudioData): void {
    if (session.stopping || session.audioGaveUp || session.originUs === undefined || data.timestamp < session.originUs || !session.audioCodec) {
      data.close();
      return;
    }
    if (!session.audio) {
      const audio = new AudioTrackEncoder({ ...session.audioCodec, sampleRate: data.sampleRate, numberOfChannels: data.numberOfChannels });
      audio.on('chunk', (chunk) => this.#onChunk(session, this.config.ladder.length, chunk));
      audio.on('error', (err) => void this.#fail(session, err, true));
      session.audio = audio;
    }
    session.audio.encode(data);
  }

  #onChunk(session: Session, trackId: number, chunk: EncodedVideoChunk | EncodedAudioChunk): void {
    if (session.closed) return;
    if (trackId < session.rungs.length) session.schedule?.observeOutput(trackId, chunk.timestamp, chunk.type === 'key');
    if (trackId === 0) {
      // Timestamps are capture times on the performance clock, so this is capture → encoded, queueing included.
      this.#encodeLatenciesMs.push((nowUs() - chunk.timestamp) / 1000);
      if (this.#encodeLatenciesMs.length > ENCODE_LATENCY_WINDOW) this.#encodeLatenciesMs.shift();
    }
    if (session.ready) {
      this.#sendChunk(session, trackId, chunk);
      return;
    }
    session.pending.push({ trackId, chunk });
    if (trackId === 0 && session.firstVideoOutputAt === undefined) session.firstVideoOutputAt = performance.now();
    const videoReady = session.rungs.every((r) => r.decoderConfig !== undefined);
    const audioExpected = session.source!.hasAudio && !session.audioGaveUp;
    let audioReady = !audioExpected || session.audio?.decoderConfig !== undefined;
    if (videoReady && !audioReady && performance.now() - session.firstVideoOutputAt! > AUDIO_START_TIMEOUT_MS) {
      console.warn(`swarmcast: no audio within ${AUDIO_START_TIMEOUT_MS} ms of the first video frame; going live without audio`);
      session.audioGaveUp = true;
      session.audio?.close();
      session.audio = undefined;
      session.pending = session.pending.filter((p) => p.trackId < session.rungs.length);
      audioReady = true;
    }
    if (videoReady && audioReady) this.#sendHeaders(session);
  }

  /** Clock, then one track message per track (video rungs first, then audio), then everything held back. */
  #sendHeaders(session: Session): void {
    const writer = session.writer!;
    const clockUs = Math.min(session.originUs!, ...session.pending.map((p) => p.chunk.timestamp));
    session.originUs = clockUs;
    writer.write({ type: 'clock', timestampUs: clockUs, wallClockMs: performance.timeOrigin + clockUs / 1000 });
    session.rungs.forEach((rung, trackId) => {
      const dc = rung.decoderConfig!;
      const track: VideoTrackConfig = {
        type: 'track',
        kind: 'video',
        trackId,
        codec: dc.codec || rung.rung.codec,
        rendition: rung.rung.rendition,
        width: rung.rung.width,
        height: rung.rung.height,
        framerate: this.config.framerate,
        bitrate: rung.rung.bitrate,
        ...(dc.description && { description: toBytes(dc.description) }),
      };
      writer.write(track);
    });
    this.#videoCodec = session.rungs[0]!.decoderConfig!.codec || this.config.ladder[0]!.codec;
    const audio = session.audio?.decoderConfig;
    if (session.audio && audio) {
      const track: AudioTrackConfig = {
        type: 'track',
        kind: 'audio',
        trackId: session.rungs.length,
        codec: session.audio.config.codec,
        sampleRate: audio.sampleRate,
        channels: audio.numberOfChannels,
        bitrate: session.audio.config.bitrate ?? this.config.audio.bitrate,
        ...(audio.description && { description: toBytes(audio.description) }),
      };
      writer.write(track);
      this.#audioCodec = track.codec;
    }
    session.ready = true;
    const pending = session.pending;
    session.pending = [];
    for (const p of pending) this.#sendChunk(session, p.trackId, p.chunk);
    session.liveSince = performance.now();
    this.#window = { at: performance.now(), frames: this.#counters.framesSent, bytes: writer.bytesSent };
    this.#setState('live');
    this.#emitStats();
  }

  #sendChunk(session: Session, trackId: number, chunk: EncodedVideoChunk | EncodedAudioChunk): void {
    if (chunk.timestamp < session.originUs!) return;
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const keyframe = chunk.type === 'key';
    const msg: WireMessage = { type: 'chunk', trackId, keyframe, timestampUs: chunk.timestamp, durationUs: chunk.duration ?? 0, data };
    session.writer!.write(msg);
    if (trackId === 0) {
      this.#counters.framesSent++;
      if (keyframe) this.#counters.keyframesSent++;
    } else if (trackId === session.rungs.length) {
      this.#counters.audioChunksSent++;
    }
  }

  /** Resolves when the session is live (headers sent), or when it ended first. */
  #live(session: Session): Promise<void> {
    if (session.ready || session.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!session.ready && !session.stopping) return;
        this.off('state', check);
        resolve();
      };
      this.on('state', check);
    });
  }

  async #fail(session: Session, error: BroadcastError, sendEnd: boolean): Promise<void> {
    if (session.stopping) return;
    console.error(`swarmcast: broadcast of "${this.streamName}" failed: ${error.code}: ${error.message}`, error.cause ?? '');
    this.#error = error;
    await this.#teardown(session, sendEnd);
    this.#setState('error');
    this.emit('error', error);
  }

  async #teardown(session: Session, sendEnd: boolean): Promise<void> {
    if (session.stopping) return;
    session.stopping = true;
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    session.source?.close();
    this.emit('preview', null);
    if (sendEnd && session.ready && session.writer) {
      // Deliver what the encoders still hold, so the stream ends on its last captured frame.
      await Promise.all([...session.rungs.map((r) => r.flush()), session.audio?.flush()]).catch((err: unknown) => {
        console.warn('swarmcast: flushing the encoders at stop failed:', err);
      });
      session.writer.write({ type: 'end' });
    }
    session.closed = true;
    for (const rung of session.rungs) rung.close();
    session.audio?.close();
    await session.transport?.close();
    this.#emitStats();
  }

  #setState(state: BroadcasterState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  #emitStats(): void {
    const session = this.#session;
    const now = performance.now();
    if (session?.writer && session.ready && !session.closed) {
      const elapsedMs = now - this.#window.at;
      if (elapsedMs > 0) {
        this.#fps = Math.round(((this.#counters.framesSent - this.#window.frames) * 10_000) / elapsedMs) / 10;
        this.#bitrateKbps = Math.round(((session.writer.bytesSent - this.#window.bytes) * 8) / elapsedMs);
      }
      this.#window = { at: now, frames: this.#counters.framesSent, bytes: session.writer.bytesSent };
    } else {
      this.#fps = 0;
      this.#bitrateKbps = 0;
    }
    this.emit('stats', this.stats());
  }
}

function toBytes(source: AllowSharedBufferSource): Uint8Array {
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice();
  return new Uint8Array(source).slice();
}

/** Frames the encode-latency median is taken over: 3 s at 30 fps. */
const ENCODE_LATENCY_WINDOW = 90;

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
}
