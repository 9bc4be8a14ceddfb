// The Broadcaster: the public face of going live; runs one BroadcastSession at a time and turns it into state, stats and errors.
import { TypedEmitter } from '../../shared/events.ts';
import { resolveConfig, type BroadcasterConfig } from './config.ts';
import type { BroadcastError } from './errors.ts';
import { WebRtcPublisher } from './publisher.ts';
import { BroadcastSession, idleRungStats, type SessionStats } from './session.ts';
import type { SourceKind } from './source.ts';
import type { TransportConnector } from './transport.ts';

export type BroadcasterState = 'idle' | 'connecting' | 'live' | 'error';

export interface BroadcasterStats extends Omit<SessionStats, 'connectionState'> {
  state: BroadcasterState;
  source: SourceKind;
  /** The transport's connection state (RTCPeerConnectionState for WebRTC), `new` before it exists. */
  connectionState: string;
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
  /** The publish key or token the default publisher sends as `Authorization: Bearer KEY`; none on an open server. */
  publishKey?: string;
}

/** The stats before the first go-live (also what a page shows before it has a broadcaster). */
export const NO_SESSION: SessionStats = {
  fps: 0,
  bitrateKbps: 0,
  droppedFrames: 0,
  encoderQueue: 0,
  encodeLatencyMs: null,
  connectionState: undefined,
  framesSent: 0,
  keyframesSent: 0,
  audioChunksSent: 0,
  bytesSent: 0,
  bufferedBytes: 0,
  channelBufferedBytes: {},
  inFlightBytes: null,
  inFlightBudgetBytes: null,
  pausedRenditions: [],
  uplinkKbps: null,
  uplinkRttMs: null,
  timeLiveMs: 0,
  videoCodec: null,
  audioCodec: null,
  segmentTargetMs: null,
  renditions: [],
  rungs: [],
  reconnecting: false,
  reconnects: 0,
};

export class Broadcaster extends TypedEmitter<BroadcasterEvents> {
  readonly streamName: string;
  readonly sourceKind: SourceKind;
  readonly config: BroadcasterConfig;
  #connect: TransportConnector;
  #state: BroadcasterState = 'idle';
  #error: BroadcastError | null = null;
  /** The current go-live, or the last one (kept so its counters stay readable after it ended). */
  #session: BroadcastSession | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: BroadcasterOptions) {
    super();
    this.streamName = options.streamName;
    this.sourceKind = options.source;
    this.config = resolveConfig(options.config);
    const publishKey = options.publishKey;
    this.#connect = options.connect ?? ((name, options) => WebRtcPublisher.connect(name, { ...options, publishKey }));
  }

  get state(): BroadcasterState {
    return this.#state;
  }

  /** Goes live; resolves when live, or rejects with the BroadcastError also reported as `error`. */
  async start(): Promise<void> {
    if (this.#state === 'connecting' || this.#state === 'live') return;
    this.#error = null;
    const session = new BroadcastSession({ streamName: this.streamName, sourceKind: this.sourceKind, config: this.config, connect: this.#connect });
    this.#session = session;
    session.on('preview', (preview) => this.emit('preview', preview));
    session.on('connection', () => this.#emitStats());
    session.on('live', () => {
      this.#setState('live');
      this.#emitStats();
    });
    session.on('failure', (error) => this.#onFailure(session, error));
    this.#setState('connecting');
    this.#statsTimer = setInterval(() => this.#emitStats(), this.config.statsIntervalMs);
    await session.start();
    if (session.failure) throw session.failure;
  }

  /** Stops: flushes the encoders, sends `end`, closes the connection, releases the devices. */
  async stop(): Promise<void> {
    const session = this.#session;
    if (!session || session.ending) return;
    await session.stop();
    this.#stopStats();
    this.#setState('idle');
    this.#emitStats();
  }

  /** Stops and drops every listener. */
  async close(): Promise<void> {
    await this.stop();
    this.removeAllListeners();
  }

  stats(): BroadcasterStats {
    const session = this.#session?.stats() ?? NO_SESSION;
    return {
      state: this.#state,
      source: this.sourceKind,
      ...session,
      connectionState: session.connectionState ?? (this.#state === 'error' ? 'closed' : 'new'),
      renditions: session.renditions.length > 0 ? session.renditions : this.config.ladder.map((r) => r.rendition),
      rungs: session.rungs.length > 0 ? session.rungs : this.config.ladder.map((r) => idleRungStats(r)),
      error: this.#error?.message ?? null,
      errorCode: this.#error?.code ?? null,
    };
  }

  #onFailure(session: BroadcastSession, error: BroadcastError): void {
    if (session !== this.#session) return;
    console.error(`swarmcast: broadcast of "${this.streamName}" failed: ${error.code}: ${error.message}`, error.cause ?? '');
    this.#error = error;
    this.#stopStats();
    this.#setState('error');
    this.#emitStats();
    this.emit('error', error);
  }

  #stopStats(): void {
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
  }

  #setState(state: BroadcasterState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  #emitStats(): void {
    this.#session?.sampleRates();
    this.emit('stats', this.stats());
  }
}
