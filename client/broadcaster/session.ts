// One go-live: owns the capture source, the encoders, the transport and its wire writer; close() releases them all.
import { TypedEmitter } from '../../shared/events.ts';
import { ChannelWriter } from '../../shared/protocol/index.ts';
import { segmentGrid } from '../../shared/segment-grid.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';
import { AdaptivePublishing, type AdaptReason, type RungLevel, type RungPlan } from './adaptive-publishing.ts';
import { AudioTrackEncoder, pickAudioConfig } from './audio-encoder.ts';
import { openSource } from './capture.ts';
import type { BroadcasterConfig, Rung } from './config.ts';
import { BroadcastError } from './errors.ts';
import { KeyframeSchedule } from './keyframe-schedule.ts';
import { fitRungSize, rungsForSource } from './ladder.ts';
import { SendPriority } from './send-priority.ts';
import { DeliveryPacer, PacedScheduler } from './send-pacer.ts';
import { SendQueue } from './send-queue.ts';
import { nowUs, type CaptureSource, type SourceKind } from './source.ts';
import { StatsWindow } from './stats-window.ts';
import { chunkMessage, headerMessages, type AudioTrackSource } from './track-messages.ts';
import type { PublishTransport, TransportConnector } from './transport.ts';
import { RungEncoder } from './video-encoder.ts';

export interface SessionOptions {
  streamName: string;
  sourceKind: SourceKind;
  config: BroadcasterConfig;
  connect: TransportConnector;
}

type SessionEvents = {
  /** The captured picture to show, or null when capture stopped. */
  preview: [MediaStream | HTMLCanvasElement | null];
  /** The clock and track messages went out: the stream is live. */
  live: [];
  /** The session ended on its own (capture ended, an encoder or the connection failed); it is closed when this fires. */
  failure: [BroadcastError];
  /** The transport's connection state changed. */
  connection: [string];
};

/**
 * What became of a configured rung: `idle` before going live, `encoding` as configured, `fallback` when the browser
 * encodes the rung's fallback (Firefox: AV1 instead of H.264), `dropped` when it is not encoded (taller than the
 * source, or its fallback is already another rung's).
 */
export type RungState = 'idle' | 'encoding' | 'fallback' | 'dropped';

/**
 * Why a live rung is not sent in full: `uplink` or `cpu` when adaptive publishing stepped it down
 * (adaptive-publishing.ts), `backpressure` when the data channels' queues passed their limit (send-priority.ts).
 */
export type RungLevelReason = AdaptReason | 'backpressure';

export interface RungStats {
  /** The rendition encoded (a fallback's name when `fallback`). */
  rendition: string;
  /** The rendition configured. */
  configured: string;
  state: RungState;
  codec: string;
  width: number;
  height: number;
  /** The encoder's target bitrate, kbit/s: below `configuredBitrateKbps` while `lowered` (from the next keyframe on). */
  bitrateKbps: number;
  /** The rung's bitrate as configured, kbit/s. */
  configuredBitrateKbps: number;
  /** `full`, `lowered` (encoding at `bitrateKbps`) or `paused` (not encoded nor sent; the origin writes GAP parts). */
  level: RungLevel;
  /** Why it is not `full`; null when it is. */
  levelReason: RungLevelReason | null;
  /** This rung's video sent, kbit/s over the last stats interval. */
  sendKbps: number;
  framesEncoded: number;
  /**
   * Frames this rung did not encode: those dropped before encoding (for every rung, or for this one while it was paused
   * by back-pressure) and those its encoder skipped.
   */
  droppedFrames: number;
  /** Median capture → encoded output time of this rung over the last 3 s; null before any. */
  encodeLatencyMs: number | null;
}

/** A configured rung as it stands before anything was encoded. */
export function idleRungStats(rung: Rung, state: RungState = 'idle'): RungStats {
  return {
    rendition: rung.rendition,
    configured: rung.rendition,
    state,
    codec: rung.codec,
    width: rung.width,
    height: rung.height,
    bitrateKbps: Math.round(rung.bitrate / 1000),
    configuredBitrateKbps: Math.round(rung.bitrate / 1000),
    level: 'full',
    levelReason: null,
    sendKbps: 0,
    framesEncoded: 0,
    droppedFrames: 0,
    encodeLatencyMs: null,
  };
}

/** What a session tells about itself; the Broadcaster adds its own state around it. */
export interface SessionStats {
  /** Video frames per second sent on the top rung, over the last stats interval. */
  fps: number;
  /** Everything sent (all tracks, framing included), kbit/s over the last stats interval. */
  bitrateKbps: number;
  /** Captured video frames not encoded in every rung because of back-pressure (see SendPriority) or a full encoder queue. */
  droppedFrames: number;
  /** Frames waiting in the busiest video encoder. */
  encoderQueue: number;
  /** Median time from a frame's capture to its encoded output on the top rung, over the last 3 s; null before any. */
  encodeLatencyMs: number | null;
  /** The transport's connection state (RTCPeerConnectionState for WebRTC); undefined while no transport is open. */
  connectionState: string | undefined;
  /** Video frames sent on the top rung. */
  framesSent: number;
  keyframesSent: number;
  audioChunksSent: number;
  bytesSent: number;
  /** Bytes queued on all data channels. */
  bufferedBytes: number;
  /** Bytes queued per data channel: `control`, each rendition, `audio`. */
  channelBufferedBytes: Record<string, number>;
  /** Bytes handed to the track channels that the ingest's receipts do not count yet; null without receipts. */
  inFlightBytes: number | null;
  /** What the pacer lets be in flight now (send-pacer.ts); null without receipts. */
  inFlightBudgetBytes: number | null;
  /** The renditions whose frames are being dropped, by adaptive publishing or back-pressure (the top one first). */
  pausedRenditions: string[];
  /**
   * What the uplink carried over the last second, kbit/s: by the ingest's receipts, or, from an ingest without them,
   * sent minus what piled up in the queues; null until known.
   */
  uplinkKbps: number | null;
  /** The connection's current round-trip time (the selected ICE candidate pair's), ms; null until known. */
  uplinkRttMs: number | null;
  timeLiveMs: number;
  videoCodec: string | null;
  audioCodec: string | null;
  segmentTargetMs: number | null;
  /** The renditions being encoded, as chosen (a rung may have fallen back to another); empty before then. */
  renditions: string[];
  /** Every configured rung, highest first, with what became of it; empty before the encoders are chosen. */
  rungs: RungStats[];
  /**
   * The connection broke and the session is connecting again (the state stays `live`: the server keeps the stream for
   * it); nothing is encoded meanwhile.
   */
  reconnecting: boolean;
  /** Times the session reconnected after its connection broke. */
  reconnects: number;
}

/** How long after the first video output the first audio output may lag before the stream goes out without audio. */
const AUDIO_START_TIMEOUT_MS = 2000;
/** How often adaptive publishing measures the uplink and the encoders and may step the ladder. */
const ADAPT_INTERVAL_MS = 500;
/**
 * Without receipts from the ingest (an older server), a track's data channel is handed frames only while it holds at
 * most this much (send-queue.ts): ~200 ms of the top
 * rung at 2.5 Mbit/s, so the association carries little that a pause would make useless, while an open link, which
 * drains it within a round trip, never waits on it.
 */
const SEND_QUEUE_MARK_BYTES = 64 * 1024;
/** At stop, how long the send queues may take to hand over what they hold, before and after the `end`s join them. */
const QUEUE_DRAIN_TIMEOUT_MS = 1000;
/** Backoff between reconnection attempts: the first wait, doubled after each failed attempt up to the last. */
const RECONNECT_FIRST_DELAY_MS = 250;
const RECONNECT_MAX_DELAY_MS = 2000;
/**
 * How long a broadcast that ends while reconnecting keeps trying to stop its lost session (the server unreachable):
 * longer than the server's grace period (10 s unless configured), so the stream ends as soon as the network is back.
 */
const STOP_LOST_WITHIN_MS = 60_000;
/** Refusals a reconnection attempt waits out: the network is still down, or the server has not let go of the lost session. */
const RECONNECT_RETRYABLE = new Set<BroadcastError['code']>(['connection-failed', 'server-unreachable', 'stream-taken', 'rate-limited']);

type EncodedChunk = EncodedVideoChunk | EncodedAudioChunk;
type Pending = { trackId: number; chunk: EncodedChunk };
/** Per encoded rung: what was sent of it, the frames it was not given, and its rolling rates. */
type RungTally = { framesSent: number; bytesSent: number; framesDropped: number; window: StatsWindow };

export class BroadcastSession extends TypedEmitter<SessionEvents> {
  #options: SessionOptions;
  #source: CaptureSource | undefined;
  #rungs: RungEncoder[] = [];
  #tallies = new Map<RungEncoder, RungTally>();
  #audioConfig: AudioEncoderConfig | undefined;
  #audio: AudioTrackEncoder | undefined;
  #audioGaveUp = false;
  #transport: PublishTransport | undefined;
  #writer: ChannelWriter | undefined;
  /** Each track's send queue, by track id: the writer's sink for that track's channel. */
  #queues = new Map<number, SendQueue>();
  /** What may be in flight, from the ingest's receipts, and which queue sends next (send-pacer.ts); one per connection. */
  #pacer = new DeliveryPacer();
  /** The tracks the transport carries, by id: every rung and the audio track. */
  #trackIds: number[] = [];
  #reconnecting = false;
  #reconnects = 0;
  /**
   * From a lost connection until a reconnect succeeds: the transport whose session the server keeps the stream for.
   * Still set when the session ends without reconnecting (Stop, reconnecting timed out or refused): #release then
   * DELETEs that session (stopLost), so the stream ends at once rather than after the server's grace period, and the
   * broadcaster can go live again on the name straight away.
   */
  #lost: PublishTransport | undefined;
  /**
   * From a lost connection until a reconnect succeeds: aborted when the session ends, which cancels the attempt under
   * way and the wait for the next. Left set when reconnecting fails, when #end aborts it with nothing in flight.
   */
  #reconnectAbort: AbortController | undefined;
  /** After a reconnect, encoded output of frames up to this timestamp (captured before the break) is not sent. */
  #staleUntilUs = Number.NEGATIVE_INFINITY;
  #scheduler: PacedScheduler | undefined;
  #priority: SendPriority | undefined;
  #adaptation: AdaptivePublishing | undefined;
  /** Each rung as adaptive publishing wants it now, by track id. */
  #plan: RungPlan[] = [];
  #adaptTimer: ReturnType<typeof setInterval> | undefined;
  #rttMs: number | null = null;
  #rttFailed = false;
  /** Made at the first captured frame, whose timestamp is the segment grid's zero point. */
  #schedule: KeyframeSchedule | undefined;
  #segmentTargetUs = 0;
  /** The origin's part target, when it announced one: the first segment is then two parts long. */
  #partTargetUs: number | undefined;
  /** The clock message's timestamp: nothing earlier is sent. */
  #clockOriginUs = 0;
  #lastVideoUs = Number.NEGATIVE_INFINITY;
  #firstVideoOutputAt: number | undefined;
  /** Encoded output held until every track's decoder config is known and the headers went out. */
  #pending: Pending[] = [];
  #liveSince: number | undefined;
  /** `captured`: video frames taken while live; `encoderFull`: of them, those dropped because an encoder queue was full. */
  #counters = { framesSent: 0, keyframesSent: 0, audioChunksSent: 0, dropped: 0, captured: 0, encoderFull: 0 };
  #window = new StatsWindow();
  #videoCodec: string | null = null;
  #audioCodec: string | null = null;
  /** No more input is taken; encoded output still goes out until `#closed`. */
  #ending = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #sized!: (size: { width: number; height: number } | undefined) => void;
  /** The captured picture's size, from the first frame; undefined when the session ends before one came. */
  #sourceSize = new Promise<{ width: number; height: number } | undefined>((resolve) => {
    this.#sized = resolve;
  });
  #failure: BroadcastError | undefined;
  #settled!: () => void;
  /** Resolves once the session is live or has ended. */
  #liveOrEnded = new Promise<void>((resolve) => {
    this.#settled = resolve;
  });

  constructor(options: SessionOptions) {
    super();
    this.#options = options;
  }

  /** True once stop() or close() was called or the session failed. */
  get ending(): boolean {
    return this.#ending;
  }

  /** Why the session ended on its own, if it did. */
  get failure(): BroadcastError | undefined {
    return this.#failure;
  }

  /**
   * Opens the encoders, the source and the transport, and starts capture; resolves once live or ended.
   * Never rejects: a failure is reported as `failure` (and kept as `failure`) after the session closed.
   */
  async start(): Promise<void> {
    try {
      await this.#open();
    } catch (err) {
      const error = err instanceof BroadcastError
        ? err
        : new BroadcastError('capture-failed', `Something went wrong while going live (${String(err)}).`, this.#options.streamName, { cause: err });
      await this.#fail(error, false);
    }
    await this.#liveOrEnded;
  }

  /** Flushes the encoders and sends `end` (when live), then closes; idempotent, and a no-op after close(). */
  stop(): Promise<void> {
    return this.#end(true);
  }

  /** Releases everything at once without sending `end`; idempotent. */
  close(): Promise<void> {
    return this.#end(false);
  }

  /** Ends the current stats window: the rates become those since the last call. */
  sampleRates(): void {
    const live = this.#liveSince !== undefined && !this.#closed && this.#writer;
    if (live) {
      this.#window.sample(performance.now(), { frames: this.#counters.framesSent, bytes: this.#bytesSent() });
    } else {
      this.#window.idle();
    }
    for (const tally of this.#tallies.values()) {
      if (live) tally.window.sample(performance.now(), { frames: tally.framesSent, bytes: tally.bytesSent });
      else tally.window.idle();
    }
  }

  stats(): SessionStats {
    const open = !this.#closed;
    return {
      fps: this.#window.fps,
      bitrateKbps: this.#window.bitrateKbps,
      droppedFrames: this.#counters.dropped,
      encoderQueue: open ? Math.max(0, ...this.#rungs.map((r) => r.queueSize)) : 0,
      encodeLatencyMs: this.#window.encodeLatencyMs,
      connectionState: open ? this.#transport?.connectionState : undefined,
      framesSent: this.#counters.framesSent,
      keyframesSent: this.#counters.keyframesSent,
      audioChunksSent: this.#counters.audioChunksSent,
      bytesSent: this.#bytesSent(),
      bufferedBytes: open ? this.#queuedBytes() : 0,
      channelBufferedBytes: open ? this.#channelQueues() : {},
      inFlightBytes: open && this.#pacer.paced ? this.#pacer.inFlightBytes : null,
      inFlightBudgetBytes: open && this.#pacer.paced ? this.#pacer.budgetBytes(performance.now()) : null,
      pausedRenditions: open ? this.#rungs.filter((_, k) => this.#isPaused(k)).map((r) => r.rung.rendition) : [],
      uplinkKbps: open ? (this.#adaptation?.achievedKbps ?? null) : null,
      uplinkRttMs: open && this.#rttMs !== null ? Math.round(this.#rttMs) : null,
      timeLiveMs: open && this.#liveSince !== undefined ? Math.round(performance.now() - this.#liveSince) : 0,
      videoCodec: this.#videoCodec,
      audioCodec: this.#audioCodec,
      segmentTargetMs: this.#segmentTargetUs ? this.#segmentTargetUs / 1000 : null,
      renditions: this.#rungs.map((r) => r.rung.rendition),
      rungs: this.#rungStats(),
      reconnecting: this.#reconnecting,
      reconnects: this.#reconnects,
    };
  }

  #channelQueues(): Record<string, number> {
    return this.#transport ? channelQueues(this.#transport, this.#queues, this.#rungs) : {};
  }

  /** Bytes written to the channels and their send queues, less what the queues dropped. */
  #bytesSent(): number {
    let dropped = 0;
    for (const queue of this.#queues.values()) dropped += queue.droppedBytes;
    return (this.#writer?.bytesSent ?? 0) - dropped;
  }

  /**
   * The backlog back-pressure watches: with receipts, what waits in the send queues (in flight is bounded by the
   * pacer); without, the queues and the channels together.
   */
  #queuedBytes(): number {
    if (this.#pacer.paced) return [...this.#queues.values()].reduce((sum, q) => sum + q.queuedBytes, 0);
    return Object.values(this.#channelQueues()).reduce((a, b) => a + b, 0);
  }

  /** Per track, as #queuedBytes counts it. */
  #trackQueuedBytes(transport: PublishTransport, trackId: number): number {
    const queued = this.#queues.get(trackId)?.queuedBytes ?? 0;
    return this.#pacer.paced ? queued : queued + (transport.tracks.get(trackId)?.bufferedAmount ?? 0);
  }

  #rungStats(): RungStats[] {
    if (this.#rungs.length === 0) return [];
    return this.#options.config.ladder.map((configured) => {
      const encoder = this.#rungs.find((r) => r.configured === configured);
      if (!encoder) return idleRungStats(configured, 'dropped');
      const { rung } = encoder;
      const tally = this.#tallies.get(encoder);
      const k = this.#rungs.indexOf(encoder);
      const plan = this.#plan[k];
      const paused = !this.#closed && this.#isPaused(k);
      const level: RungLevel = paused ? 'paused' : (plan?.level ?? 'full');
      return {
        ...idleRungStats(rung, encoder.isFallback ? 'fallback' : 'encoding'),
        // The plan's bitrate: the encoder takes it at the next keyframe, within a segment.
        bitrateKbps: Math.round((plan?.bitrate ?? encoder.bitrate) / 1000),
        level,
        levelReason: level === 'full' ? null : plan?.level === level ? plan.reason : 'backpressure',
        configured: configured.rendition,
        sendKbps: tally?.window.bitrateKbps ?? 0,
        framesEncoded: encoder.framesEncoded,
        droppedFrames: (tally?.framesDropped ?? 0) + encoder.framesSkipped,
        encodeLatencyMs: tally?.window.encodeLatencyMs ?? null,
      };
    });
  }

  /** Rung k skips frames: adaptive publishing paused it, or back-pressure did. */
  #isPaused(k: number): boolean {
    return this.#plan[k]?.level === 'paused' || this.#priority?.paused[k] === true;
  }

  /** Measures the uplink and the encoders, and applies adaptive publishing's plan when it changed. */
  #adapt(): void {
    const transport = this.#transport;
    const adaptation = this.#adaptation;
    if (this.#closed || !transport || !adaptation || !this.#writer) return;
    transport.roundTripTimeMs().then(
      (ms) => {
        this.#rttMs = ms;
        if (ms !== null) this.#pacer.roundTrip(ms);
      },
      (err: unknown) => {
        if (!this.#rttFailed) console.warn('swarmcast: reading the connection round-trip time failed:', err);
        this.#rttFailed = true;
      },
    );
    const trackIds = [...this.#rungs.keys(), this.#rungs.length];
    const changed = adaptation.update({
      atMs: performance.now(),
      queuedBytes: trackIds.map((id) => this.#trackQueuedBytes(transport, id)),
      bytesOffered: this.#bytesSent(),
      bytesDelivered: this.#pacer.paced ? this.#pacer.deliveredBytes : null,
      rttMs: this.#rttMs,
      framesCaptured: this.#counters.captured,
      framesOverloaded: this.#counters.encoderFull + this.#rungs.reduce((sum, r) => sum + r.framesSkipped, 0),
      encodeLatencyMs: this.#sendingEncodeLatencyMs(),
      // A paused rung gets no keyframe to take its bitrate on, and sends nothing meanwhile.
      bitratePending: this.#rungs.some((r, k) => r.bitratePending && !this.#isPaused(k)),
    });
    if (!changed) return;
    const before = this.#plan;
    this.#plan = adaptation.plan;
    this.#rungs.forEach((rung, k) => {
      const plan = this.#plan[k]!;
      rung.setBitrate(plan.bitrate);
      if (plan.level !== before[k]?.level) {
        const what = plan.level === 'lowered' ? `lowered to ${plan.bitrate / 1000} kbit/s` : plan.level;
        console.info(`swarmcast: ${rung.rung.rendition} ${what}${plan.reason ? ` (${plan.reason})` : ''}`);
      }
      // What a paused rung still has queued would arrive too late to be played, taking the uplink from audio and the
      // lower rungs meanwhile; it resumes on a keyframe, which does not need it. (A rung paused by back-pressure keeps
      // its queue: SendPriority resumes it once the queues drained, which a drop would fake at once, and it would flap.)
      if (plan.level === 'paused' && before[k]?.level !== 'paused') this.#queues.get(k)?.dropUnsent();
      // A rung that resumes does so on a keyframe, forced in every rung so keyframes stay aligned across the ladder.
      if (before[k]?.level === 'paused' && plan.level !== 'paused') {
        this.#schedule?.forceKeyframe();
        // Its latencies from before the pause say nothing about the machine now.
        this.#tallies.get(rung)?.window.forgetEncodeLatency();
      }
    });
  }

  /** The median encode latency of the highest rung being encoded (a paused rung's would be stale). */
  #sendingEncodeLatencyMs(): number | null {
    const sending = this.#rungs.find((_, k) => !this.#isPaused(k));
    return sending ? (this.#tallies.get(sending)?.window.encodeLatencyMs ?? null) : null;
  }

  /** Each step checks for a stop that came while it waited, and releases what it just opened. */
  async #open(): Promise<void> {
    const { streamName, sourceKind, config } = this.#options;
    if (!isValidStreamName(streamName)) {
      throw new BroadcastError('invalid-stream-name', `“${streamName}” can't be a stream name: use 1 to 64 lowercase letters, digits, “-” or “_”.`, streamName);
    }
    const rungs = await createRungs(config);
    if (this.#ending) return closeAll(rungs);
    this.#rungs = rungs;
    this.#audioConfig = (await pickAudioConfig(config.audio)) ?? undefined;
    if (this.#ending) return;
    // The top rung as chosen: a fallback rung (Firefox's) may be smaller than the one configured.
    const top = rungs[0]!.rung;
    const source = await openSource(sourceKind, {
      streamName,
      width: top.width,
      height: top.height,
      framerate: config.framerate,
      sampleRate: config.audio.sampleRate,
      channels: config.audio.channels,
    });
    if (this.#ending) return source.close();
    this.#source = source;
    this.emit('preview', source.preview);
    if (source.hasAudio && !this.#audioConfig) {
      throw new BroadcastError('encoder-unsupported', `This browser can't encode audio as AAC or Opus. Use a recent Chrome, Edge or Safari.`, streamName);
    }
    this.#wire(source);
    source.start();
    // The rungs are fitted to the source before the transport opens, so it gets one channel per track that will be
    // configured (the ingest refuses a channel for a track the header leaves out, channel-demux.ts).
    const size = await this.#sourceSize;
    if (this.#ending || !size) return;
    this.#fitRungs(size.width, size.height);
    // Video rung k is track k and audio the track after them (as track-messages.ts numbers them), each on its channel.
    const trackIds = this.#rungs.map((_, k) => k);
    if (source.hasAudio) trackIds.push(this.#rungs.length);
    this.#trackIds = trackIds;
    const transport = await this.#options.connect(streamName, { trackIds });
    if (this.#ending) return transport.close();
    this.#attach(transport);
  }

  /** Takes a connected transport: the send queues, pacing, back-pressure and adaptation of one connection, then the writer. */
  #attach(transport: PublishTransport): void {
    const { config } = this.#options;
    this.#transport = transport;
    this.#pacer = new DeliveryPacer();
    this.#priority = new SendPriority(this.#rungs.length, { maxBufferedBytes: config.maxBufferedBytes, lowBufferedBytes: config.lowBufferedBytes });
    const audioBitrate = this.#audioConfig?.bitrate ?? config.audio.bitrate;
    this.#adaptation = new AdaptivePublishing(this.#rungs.map((r) => r.rung.bitrate), audioBitrate, config.adaptation);
    this.#plan = this.#adaptation.plan;
    this.#segmentTargetUs = (transport.segmentTargetMs ?? config.segmentTargetMs) * 1000;
    this.#partTargetUs = transport.partTargetMs === undefined ? undefined : transport.partTargetMs * 1000;
    transport.on('failure', (err) => {
      // A connection that broke after going live is made again: the server keeps the stream for a while.
      if (this.#liveSince !== undefined && err.code === 'connection-failed') void this.#reconnect(transport);
      else void this.#fail(err, false);
    });
    transport.on('state', (state) => this.emit('connection', state));
    const pacer = this.#pacer;
    const hooks = { handed: (bytes: number) => pacer.handed(bytes, performance.now()), wake: () => this.#scheduler?.wake() };
    for (const [trackId, channel] of transport.tracks) {
      this.#queues.set(trackId, new SendQueue(channel, SEND_QUEUE_MARK_BYTES, hooks));
      channel.onBufferedAmountLow(SEND_QUEUE_MARK_BYTES, hooks.wake);
    }
    // Audio (the track after the rungs) first, then the rungs from the lowest up: what a viewer needs most goes first.
    const byPriority = [...this.#queues.keys()].sort((a, b) => b - a).map((id) => this.#queues.get(id)!);
    this.#scheduler = new PacedScheduler(byPriority, pacer, () => performance.now());
    transport.on('receipt', (receipt) => {
      let total = 0;
      for (const { trackId, bytes } of receipt.channels) if (this.#queues.has(trackId)) total += bytes;
      pacer.received(performance.now(), total);
      this.#scheduler?.wake();
    });
    // Set last: frames are encoded once there is a writer.
    this.#writer = new ChannelWriter(transport.control, this.#queues);
  }

  /**
   * The connection broke while live: stops sending (capture goes on, frames are not encoded), lets the lost transport
   * go without a DELETE (that would stop the stream), and connects again with a bounded backoff, telling the server which
   * session it replaces. Once connected, the session goes live again as at the start: a new clock and the same tracks,
   * a keyframe first. It fails when it could not reconnect within `reconnectTimeoutMs`, or the server refuses it.
   */
  async #reconnect(lost: PublishTransport): Promise<void> {
    if (this.#ending || this.#transport !== lost) return;
    const { streamName, config } = this.#options;
    console.warn(`swarmcast: the connection of "${streamName}" broke; reconnecting`);
    this.#reconnecting = true;
    this.#writer = undefined;
    clearInterval(this.#adaptTimer);
    this.#liveSince = undefined;
    this.#schedule = undefined;
    this.#pending = [];
    this.#queues.clear();
    this.#scheduler = undefined;
    this.#transport = undefined;
    this.#staleUntilUs = this.#lastVideoUs;
    this.#lost = lost;
    void lost.close();
    this.emit('connection', 'reconnecting');
    const deadline = performance.now() + config.reconnectTimeoutMs;
    let delayMs = RECONNECT_FIRST_DELAY_MS;
    const abort = new AbortController();
    this.#reconnectAbort = abort;
    let lastError: BroadcastError | undefined;
    while (!this.#ending) {
      try {
        const transport = await this.#options.connect(streamName, { trackIds: this.#trackIds, replaces: lost.sessionId, signal: abort.signal });
        if (this.#ending) {
          await transport.close();
          return;
        }
        this.#reconnecting = false;
        this.#lost = undefined;
        this.#reconnectAbort = undefined;
        this.#reconnects++;
        console.info(`swarmcast: "${streamName}" reconnected`);
        this.#attach(transport);
        this.emit('connection', transport.connectionState);
        return;
      } catch (err) {
        const error = err instanceof BroadcastError ? err : new BroadcastError('connection-failed', String(err), streamName, { cause: err });
        if (!RECONNECT_RETRYABLE.has(error.code)) return this.#fail(error, false);
        lastError = error;
      }
      if (performance.now() + delayMs > deadline) break;
      await delay(delayMs, abort.signal);
      delayMs = Math.min(RECONNECT_MAX_DELAY_MS, delayMs * 2);
    }
    if (this.#ending) return;
    this.#reconnecting = false;
    const seconds = Math.round(config.reconnectTimeoutMs / 1000);
    await this.#fail(
      new BroadcastError('connection-failed', `The connection to the server was lost and could not be restored within ${seconds} s. Check your network and go live again.`, streamName, { cause: lastError }),
      false,
    );
  }

  #wire(source: CaptureSource): void {
    const { streamName } = this.#options;
    source.on('video', (frame) => this.#onFrame(frame));
    source.on('audio', (data) => this.#onAudio(data));
    source.on('ended', () => {
      void this.#fail(new BroadcastError('capture-ended', 'Sharing stopped, so the broadcast ended. Press Go live to start again.', streamName), true);
    });
    source.on('error', (err) => {
      void this.#fail(new BroadcastError('capture-failed', `Capture stopped unexpectedly (${String(err)}).`, streamName, { cause: err }), true);
    });
  }

  /**
   * Once the source's size is known (its first frame), rungs taller than it are closed (always keeping the lowest),
   * and each one left takes the source's aspect ratio inside its box, so the encoders scale without stretching. A
   * rung's track id is its place in the ladder as fitted.
   */
  #fitRungs(sourceWidth: number, sourceHeight: number): void {
    const fitting = rungsForSource(this.#rungs.map((r) => r.rung), sourceHeight);
    const keep = this.#rungs.filter((r) => fitting.includes(r.rung));
    closeAll(this.#rungs.filter((r) => !keep.includes(r)));
    this.#rungs = keep;
    keep.forEach((rung, trackId) => {
      const { width, height } = fitRungSize(rung.rung, sourceWidth, sourceHeight);
      rung.resize(width, height);
      this.#tallies.set(rung, { framesSent: 0, bytesSent: 0, framesDropped: 0, window: new StatsWindow() });
      rung.on('chunk', (chunk) => this.#onChunk(trackId, chunk));
      rung.on('error', (err) => void this.#fail(err, true));
    });
  }

  #onFrame(frame: VideoFrame): void {
    try {
      if (this.#ending) return;
      if (!this.#writer) {
        // Before the transport is open: the first frame gives the source's size (#open), the others are not sent.
        this.#sized({ width: frame.displayWidth, height: frame.displayHeight });
        return;
      }
      if (frame.timestamp <= this.#lastVideoUs) return;
      this.#lastVideoUs = frame.timestamp;
      this.#schedule ??= new KeyframeSchedule(frame.timestamp, segmentGrid(this.#segmentTargetUs, this.#partTargetUs));
      const schedule = this.#schedule;
      if (this.#liveSince !== undefined) this.#counters.captured++;
      if (this.#rungs.some((r) => r.queueSize > this.#options.config.maxEncodeQueue)) {
        if (this.#liveSince !== undefined) this.#counters.encoderFull++;
        this.#dropFor(this.#rungs);
        return;
      }
      // Frames dropped before encoding leave no hole in the bitstream; a rung that resumes does so on a keyframe,
      // forced in every rung so keyframes stay on the same timestamps across the ladder.
      const priority = this.#priority!;
      if (priority.update(this.#queuedBytes())) schedule.forceKeyframe();
      const paused = this.#rungs.map((_, k) => this.#isPaused(k));
      const skipped = this.#rungs.filter((_, k) => paused[k]);
      if (skipped.length > 0) this.#dropFor(skipped);
      if (skipped.length === this.#rungs.length) return;
      // Every rung not paused gets every frame that is not dropped, with the same keyframe decision: the renditions'
      // segments and parts start at the same timestamps. Each encoder scales the frame to its own size (video-encoder.ts).
      const keyFrame = schedule.next(frame.timestamp);
      this.#rungs.forEach((rung, k) => {
        if (!paused[k]) rung.encode(frame, keyFrame);
      });
    } finally {
      frame.close();
    }
  }

  /** Counts a captured frame not encoded in every rung, and against each rung that did not get it. */
  #dropFor(rungs: readonly RungEncoder[]): void {
    this.#counters.dropped++;
    for (const rung of rungs) {
      const tally = this.#tallies.get(rung);
      if (tally) tally.framesDropped++;
    }
  }

  #onAudio(data: AudioData): void {
    const schedule = this.#schedule;
    if (this.#ending || this.#audioGaveUp || !schedule || data.timestamp < schedule.originUs || !this.#audioConfig) {
      data.close();
      return;
    }
    if (!this.#audio) {
      const audio = new AudioTrackEncoder({ ...this.#audioConfig, sampleRate: data.sampleRate, numberOfChannels: data.numberOfChannels });
      audio.on('chunk', (chunk) => this.#onChunk(this.#rungs.length, chunk));
      audio.on('error', (err) => void this.#fail(err, true));
      this.#audio = audio;
    }
    this.#audio.encode(data);
  }

  #onChunk(trackId: number, chunk: EncodedChunk): void {
    if (this.#closed) return;
    // While reconnecting, and after, what the encoders still held from before the break: the new session starts afresh.
    if (this.#liveSince === undefined && (!this.#writer || !this.#schedule || chunk.timestamp <= this.#staleUntilUs)) return;
    if (trackId < this.#rungs.length) this.#schedule?.observeOutput(trackId, chunk.timestamp, chunk.type === 'key');
    if (trackId < this.#rungs.length) {
      // Timestamps are capture times on the performance clock, so this is capture → encoded, queueing included.
      const latencyMs = (nowUs() - chunk.timestamp) / 1000;
      this.#tallies.get(this.#rungs[trackId]!)?.window.addEncodeLatency(latencyMs);
      if (trackId === 0) this.#window.addEncodeLatency(latencyMs);
    }
    if (this.#liveSince !== undefined) {
      this.#sendChunk(trackId, chunk);
      return;
    }
    this.#pending.push({ trackId, chunk });
    if (trackId === 0) this.#firstVideoOutputAt ??= performance.now();
    const videoReady = this.#rungs.every((r) => r.decoderConfig !== undefined);
    const audioExpected = this.#source!.hasAudio && !this.#audioGaveUp;
    let audioReady = !audioExpected || this.#audio?.decoderConfig !== undefined;
    if (videoReady && !audioReady && this.#firstVideoOutputAt !== undefined && performance.now() - this.#firstVideoOutputAt > AUDIO_START_TIMEOUT_MS) {
      console.warn(`swarmcast: no audio within ${AUDIO_START_TIMEOUT_MS} ms of the first video frame; going live without audio`);
      this.#audioGaveUp = true;
      this.#audio?.close();
      this.#audio = undefined;
      this.#pending = this.#pending.filter((p) => p.trackId < this.#rungs.length);
      audioReady = true;
    }
    if (videoReady && audioReady) this.#goLive();
  }

  /** Sends the clock and track messages, then everything held back. */
  #goLive(): void {
    const { config } = this.#options;
    const writer = this.#writer!;
    const gridOriginUs = this.#schedule!.originUs;
    // An audio packet may start a little before the first video frame: the clock's timestamp is the earliest one.
    this.#clockOriginUs = Math.min(gridOriginUs, ...this.#pending.map((p) => p.chunk.timestamp));
    const audioDecoderConfig = this.#audio?.decoderConfig;
    const audio: AudioTrackSource | undefined = this.#audio && audioDecoderConfig
      ? { codec: this.#audio.config.codec, bitrate: this.#audio.config.bitrate ?? config.audio.bitrate, decoderConfig: audioDecoderConfig }
      : undefined;
    const headers = headerMessages({
      clockOriginUs: this.#clockOriginUs,
      gridOriginUs,
      timeOriginMs: performance.timeOrigin,
      framerate: config.framerate,
      video: this.#rungs.map((r) => ({ rung: r.rung, decoderConfig: r.decoderConfig! })),
      ...(audio && { audio }),
    });
    writer.writeHeader(headers);
    this.#videoCodec = this.#rungs[0]!.decoderConfig!.codec;
    this.#audioCodec = audio?.codec ?? null;
    this.#liveSince = performance.now();
    this.#adaptTimer = setInterval(() => this.#adapt(), ADAPT_INTERVAL_MS);
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) this.#sendChunk(p.trackId, p.chunk);
    this.#window.restart(performance.now(), { frames: this.#counters.framesSent, bytes: this.#bytesSent() });
    for (const tally of this.#tallies.values()) tally.window.restart(performance.now(), { frames: tally.framesSent, bytes: tally.bytesSent });
    this.emit('live');
    this.#settled();
  }

  #sendChunk(trackId: number, chunk: EncodedChunk): void {
    if (chunk.timestamp < this.#clockOriginUs) return;
    const message = chunkMessage(trackId, chunk);
    const writer = this.#writer!;
    this.#queues.get(trackId)!.writeChunk(message.keyframe, () => writer.writeChunk(message));
    const tally = trackId < this.#rungs.length ? this.#tallies.get(this.#rungs[trackId]!) : undefined;
    if (tally) {
      tally.framesSent++;
      tally.bytesSent += chunk.byteLength;
    }
    if (trackId === 0) {
      this.#counters.framesSent++;
      if (message.keyframe) this.#counters.keyframesSent++;
    } else if (trackId === this.#rungs.length) {
      this.#counters.audioChunksSent++;
    }
  }

  async #fail(error: BroadcastError, sendEnd: boolean): Promise<void> {
    if (this.#ending) return;
    this.#failure = error;
    await this.#end(sendEnd);
    this.emit('failure', error);
  }

  /** The one way a session ends; the first call decides whether `end` is sent. */
  #end(sendEnd: boolean): Promise<void> {
    this.#ending = true;
    this.#reconnectAbort?.abort();
    this.#sized(undefined);
    this.#closing ??= this.#release(sendEnd);
    return this.#closing;
  }

  async #release(sendEnd: boolean): Promise<void> {
    this.#source?.close();
    this.emit('preview', null);
    if (sendEnd && this.#liveSince !== undefined && this.#writer) {
      // Deliver what the encoders still hold, so the stream ends on its last captured frame.
      await Promise.all([...this.#rungs.map((r) => r.flush()), this.#audio?.flush()]).catch((err: unknown) => {
        console.warn('swarmcast: flushing the encoders at stop failed:', err);
      });
      // The `end`s follow what the queues hold, or, when the uplink cannot take it in time, what of it already began.
      if (!(await queuesDrained(this.#queues, QUEUE_DRAIN_TIMEOUT_MS))) {
        this.#rungs.forEach((_, k) => this.#queues.get(k)?.dropUnsent());
      }
      this.#writer.writeEnd();
      await queuesDrained(this.#queues, QUEUE_DRAIN_TIMEOUT_MS);
    }
    this.#closed = true;
    clearInterval(this.#adaptTimer);
    closeAll(this.#rungs);
    for (const tally of this.#tallies.values()) tally.window.idle();
    this.#audio?.close();
    // A broadcast that ends while reconnecting, or because reconnecting failed, ends its stream too, as a Stop while
    // connected does (the DELETE), rather than leaving viewers on a stream the server keeps for a publisher who is not
    // coming back.
    if (this.#lost) void this.#lost.stopLost?.(STOP_LOST_WITHIN_MS);
    await this.#transport?.close();
    this.#window.idle();
    this.#settled();
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts; either way its listener is gone. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** Bytes queued for every channel of a transport (its send queue's and its own), by what each carries. */
function channelQueues(transport: PublishTransport, sendQueues: ReadonlyMap<number, SendQueue>, rungs: readonly RungEncoder[]): Record<string, number> {
  const queues: Record<string, number> = { control: transport.control.bufferedAmount };
  for (const [trackId, channel] of transport.tracks) {
    queues[rungs[trackId]?.rung.rendition ?? 'audio'] = (sendQueues.get(trackId)?.queuedBytes ?? 0) + channel.bufferedAmount;
  }
  return queues;
}

/** Resolves true once every send queue handed all it held to its channel, false when `timeoutMs` passed first. */
function queuesDrained(queues: ReadonlyMap<number, SendQueue>, timeoutMs: number): Promise<boolean> {
  const empty = (): boolean => [...queues.values()].every((q) => q.queuedBytes === 0);
  if (empty()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const poll = setInterval(() => {
      if (!empty() && performance.now() < deadline) return;
      clearInterval(poll);
      resolve(empty());
    }, 20);
  });
}

/**
 * One encoder per rung; when one cannot be made, those already made are closed. Rungs that fell back to a rendition
 * another rung already encodes (Firefox: 720p and 480p both to 360p AV1) are closed too: the first one stays.
 */
async function createRungs(config: BroadcasterConfig): Promise<RungEncoder[]> {
  const results = await Promise.allSettled(config.ladder.map((rung) => RungEncoder.create(rung, config.framerate)));
  const rungs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    closeAll(rungs);
    throw failed.reason;
  }
  const unique = rungs.filter((rung, i) => rungs.findIndex((other) => other.rung.rendition === rung.rung.rendition) === i);
  closeAll(rungs.filter((rung) => !unique.includes(rung)));
  return unique;
}

function closeAll(encoders: readonly RungEncoder[]): void {
  for (const encoder of encoders) encoder.close();
}
