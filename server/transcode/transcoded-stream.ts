// The decorator at the ingest seam: a field encoder's single-rendition session, plus the rungs its ffmpeg worker makes,
// handed on as one published stream with N video tracks (the browser ladder's shape), so the packager cuts every rung
// on the source's segment and part boundaries. Supervises the worker: restarts with back-off, lag and CPU.
import { performance } from 'node:perf_hooks';
import { sameBytes } from '../../shared/bytes.ts';
import { avcCodecString, parseAvcC } from '../../shared/codecs/h264.ts';
import { TypedEmitter, type ErrorContext } from '../../shared/events.ts';
import type { ChunkMessage, TrackConfigMessage, VideoTrackConfig, WireMessage } from '../../shared/protocol/index.ts';
import type { PublishedStream, PublishedStreamEvents, PublishEndReason } from '../ingest/index.ts';
import { log } from '../log.ts';
import { estimateCores } from './cost.ts';
import { formatLadder, planRungs, type Rung, type RungSpec } from './ladder.ts';
import { PresentationOrder } from './presentation-order.ts';
import { TranscodeWorker } from './worker.ts';

type SourceMessage = Exclude<WireMessage, { type: 'end' }>;

/**
 * `running` and `restarting` hold a worker slot; `starting` too, until the rungs are known. `off`: nothing to make
 * (no rung below the source, not H.264); `failed`: the rungs were given up; `refused`: no capacity (server/transcode/transcoder.ts:
 * TRANSCODE_MAX_STREAMS when the stream comes, TRANSCODE_CPU_BUDGET once its rungs are planned).
 */
export type TranscodeState = 'starting' | 'running' | 'restarting' | 'off' | 'failed' | 'refused' | 'ended';

export interface RungStatus {
  rendition: string;
  width: number;
  height: number;
  bitrate: number;
  /** Frames encoded by the current and earlier workers. */
  frames: number;
  /** How long the latest frame took from the source's arrival to its encoded rung frame, ms. */
  lagMs: number | undefined;
  /** The longest such delay in the last LAG_WINDOW_MS, ms. */
  maxLagMs: number | undefined;
}

export interface TranscodeStatus {
  stream: string;
  state: TranscodeState;
  /** The ladder asked for (the server's, or the publisher's override), as `480p:1200k,240p:400k`. */
  ladder: string;
  reason?: string;
  /** The ffmpeg worker's process id while it runs. */
  pid?: number;
  /** Workers started again after one died or fell behind. */
  restarts: number;
  /** The worker's CPU use over the last sample, in cores (1 = one core busy). */
  cpu?: number;
  rungs: RungStatus[];
}

export interface TranscodedStreamOptions {
  ladder: readonly RungSpec[];
  /** A worker whose oldest frame in flight waited longer than this while later input came is restarted, ms. */
  maxLagMs: number;
  ffmpegPath: string;
  /**
   * Asked once the rungs are planned, with the cores their worker is estimated to use: a reason refuses them (the
   * stream goes on with its source rendition alone, state `refused`); undefined lets the worker start.
   */
  admit?: (estimatedCores: number) => string | undefined;
}

/**
 * The source's messages are held until every rung's configuration is known (the packager freezes its renditions at
 * the first chunk), at most this long; then the stream goes on without rungs.
 */
export const MAX_HOLD_MS = 3000;
/** …and at most this many messages (a few seconds of a source with audio). */
const MAX_HOLD_MESSAGES = 1000;
const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 8000;
/** A worker that ran this long without trouble resets the back-off and the count of unstable restarts. */
const STABLE_RUN_MS = 10_000;
/** Restarts in a row without a stable run past which the rungs are given up (the stream goes on with its source). */
export const MAX_UNSTABLE_RESTARTS = 5;
/** How often the worker's lag and CPU are checked, ms. */
const CHECK_INTERVAL_MS = 500;
const LAG_WINDOW_MS = 10_000;

interface RungState extends Rung {
  order: PresentationOrder;
  avcC: Uint8Array | undefined;
  track: VideoTrackConfig | undefined;
  lastTimestampUs: number;
  frames: number;
  lagMs: number | undefined;
  lagWindow: { atMs: number; lagMs: number }[];
}

export class TranscodedStream extends TypedEmitter<PublishedStreamEvents & { error: [Error] }> implements PublishedStream {
  #source: PublishedStream;
  #options: TranscodedStreamOptions;
  #state: TranscodeState = 'starting';
  #reason: string | undefined;
  /** Messages held until the rungs are known. */
  #held: SourceMessage[] = [];
  #holding = true;
  #holdTimer: NodeJS.Timeout | undefined;
  #tracks = new Map<number, TrackConfigMessage>();
  #video: VideoTrackConfig | undefined;
  /** The first chunk came: the source's tracks are known and the rungs planned. */
  #planned = false;
  #rungs: RungState[] = [];
  #worker: TranscodeWorker | undefined;
  #workerStartedAtMs = 0;
  /** The current worker gave a rung frame: it has started up. */
  #workerOutput = false;
  /** When the latest source frame was written to the worker, ms. */
  #lastFedAtMs = 0;
  /** A new worker starts on a source keyframe. */
  #awaitingKeyframe = true;
  #restarts = 0;
  /** Restarts since the last worker that ran STABLE_RUN_MS. */
  #unstableRestarts = 0;
  #backoffMs = RESTART_MIN_MS;
  #restartTimer: NodeJS.Timeout | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #cpuSample: { atMs: number; cpuS: number } | undefined;
  #cpu: number | undefined;
  /** The planned worker's estimated cores (server/transcode/cost.ts). */
  #estimatedCores: number | undefined;

  constructor(source: PublishedStream, options: TranscodedStreamOptions) {
    super();
    this.#source = source;
    this.#options = options;
    source.on('message', (message) => this.#onMessage(message));
    source.on('end', (reason, detail) => this.#onEnd(reason, detail));
  }

  get streamName(): string {
    return this.#source.streamName;
  }

  get state(): TranscodeState {
    return this.#state;
  }

  /** Whether it counts against TRANSCODE_MAX_STREAMS and the CPU budget (see TranscodeState). */
  get holdsSlot(): boolean {
    return this.#state === 'starting' || this.#state === 'running' || this.#state === 'restarting';
  }

  fail(detail: string): void {
    this.#source.fail(detail);
  }

  /** Cores the worker uses: measured, or estimated before the first measurement; 0 before the rungs are planned. */
  get cores(): number {
    return this.#cpu ?? this.#estimatedCores ?? 0;
  }

  status(): TranscodeStatus {
    const now = performance.now();
    const pid = this.#worker?.pid;
    return {
      stream: this.streamName,
      state: this.#state,
      ladder: formatLadder(this.#options.ladder),
      ...(this.#reason !== undefined && { reason: this.#reason }),
      ...(pid !== undefined && { pid }),
      restarts: this.#restarts,
      ...(this.#cpu !== undefined && { cpu: Math.round(this.#cpu * 1000) / 1000 }),
      rungs: this.#rungs.map((rung) => {
        const recent = rung.lagWindow.filter((entry) => now - entry.atMs <= LAG_WINDOW_MS);
        return {
          rendition: rung.rendition,
          width: rung.width,
          height: rung.height,
          bitrate: rung.bitrate,
          frames: rung.frames,
          lagMs: rung.lagMs === undefined ? undefined : Math.round(rung.lagMs),
          maxLagMs: recent.length ? Math.round(Math.max(...recent.map((entry) => entry.lagMs))) : undefined,
        };
      }),
    };
  }

  /**
   * Stops the rungs for good (the server closes): held source messages go out, later ones still pass, and the
   * source's own end ends the stream. Idempotent.
   */
  close(): void {
    this.#stopWorker();
    this.#releaseSourceOnly();
    if (this.holdsSlot) {
      this.#reason = 'the server stopped transcoding (it is closing)';
      this.#setState('off');
    }
  }

  #onMessage(message: SourceMessage): void {
    if (this.#state === 'ended') return;
    if (message.type === 'track') {
      if (!this.#planned) this.#tracks.set(message.trackId, message);
    } else if (message.type === 'chunk' && !this.#planned) {
      // Every track is configured before the first chunk (the packager's rule): the rungs take trackIds none of them has.
      this.#planned = true;
      // A stream already gone on without rungs (it held too long, or was closed) stays without them.
      if (this.#state === 'starting') {
        const video = [...this.#tracks.values()].find((t): t is VideoTrackConfig => t.kind === 'video');
        if (video) this.#plan(video);
        else this.#goWithoutRungs('off', 'no video track before the first chunk');
      }
    }
    if (this.#holding) {
      this.#held.push(message);
      if (this.#held.length > MAX_HOLD_MESSAGES) this.#goWithoutRungs('failed', `no rung configuration after ${MAX_HOLD_MESSAGES} source messages`);
    } else {
      this.emit('message', message);
    }
    if (message.type === 'chunk' && message.trackId === this.#video?.trackId) this.#feed(message);
  }

  /** The source's video track is known: plan the rungs and start the worker, or go on without rungs. */
  #plan(video: VideoTrackConfig): void {
    this.#video = video;
    if (!video.codec.startsWith('avc1') || !video.description) return this.#goWithoutRungs('off', `the source's video is ${video.codec}: only H.264 is transcoded`);
    const renditions = new Set([...this.#tracks.values()].flatMap((t) => (t.kind === 'video' ? [t.rendition] : [])));
    const rungs = planRungs(this.#options.ladder, video, new Set(this.#tracks.keys()), renditions);
    if (rungs.length === 0) return this.#goWithoutRungs('off', `no rung of the ladder is below the source's ${video.width}×${video.height}`);
    const estimate = estimateCores(video, rungs, video.framerate);
    const refusal = this.#options.admit?.(estimate);
    if (refusal !== undefined) return this.#goWithoutRungs('refused', refusal);
    this.#estimatedCores = estimate;
    this.#rungs = rungs.map((rung) => ({ ...rung, order: new PresentationOrder(), avcC: undefined, track: undefined, lastTimestampUs: -Infinity, frames: 0, lagMs: undefined, lagWindow: [] }));
    this.#holdTimer = setTimeout(() => this.#goWithoutRungs('failed', `the worker gave no rung configuration within ${MAX_HOLD_MS} ms`), MAX_HOLD_MS);
    this.#checkTimer = setInterval(() => this.#check(), CHECK_INTERVAL_MS);
    this.#checkTimer.unref();
    this.#startWorker();
  }

  #startWorker(): void {
    const video = this.#video!;
    let worker: TranscodeWorker;
    try {
      worker = new TranscodeWorker(this.streamName, this.#rungs, video.description!, this.#options.ffmpegPath);
    } catch (err) {
      // A child that could not be spawned at all is a worker that exited at once.
      this.#workerStartedAtMs = performance.now();
      return this.#restart(`its worker did not start: ${(err as Error).message}`);
    }
    this.#worker = worker;
    this.#workerStartedAtMs = performance.now();
    this.#workerOutput = false;
    this.#awaitingKeyframe = true;
    this.#cpuSample = undefined;
    for (const rung of this.#rungs) rung.order.clear();
    worker.on('config', (index, avcC) => this.#onRungConfig(index, avcC));
    worker.on('frame', (index, keyframe, data) => this.#onRungFrame(index, keyframe, data));
    worker.on('exit', (detail) => this.#onWorkerExit(worker, detail));
    worker.on('error', (err) => this.#restart(`its output is broken: ${err.message}`));
    log('info', 'transcode.worker-started', { stream: this.streamName, pid: worker.pid, rungs: this.#rungs.map((r) => `${r.rendition}:${r.bitrate}`).join(',') });
  }

  #feed(chunk: ChunkMessage): void {
    const worker = this.#worker;
    if (!worker) return;
    if (this.#awaitingKeyframe) {
      if (!chunk.keyframe) return;
      this.#awaitingKeyframe = false;
    }
    const compositionUs = chunk.compositionOffsetUs ?? 0;
    this.#lastFedAtMs = performance.now();
    const fed = { decodeUs: chunk.timestampUs, presentationUs: chunk.timestampUs + compositionUs, keyframe: chunk.keyframe, fedAtMs: this.#lastFedAtMs };
    for (const rung of this.#rungs) rung.order.add(fed);
    worker.feed(chunk.timestampUs, compositionUs, chunk.keyframe, chunk.data);
  }

  #onRungConfig(index: number, avcC: Uint8Array): void {
    const rung = this.#rungs[index]!;
    if (rung.avcC) {
      // A restarted worker: the packager's init segment has the first worker's parameter sets.
      if (!sameBytes(rung.avcC, avcC)) this.#giveUp(`rung ${rung.rendition}'s H.264 configuration changed when its worker restarted`);
      return;
    }
    let codec: string;
    try {
      const config = parseAvcC(avcC);
      if (config.nalLengthSize !== 4) throw new Error(`${config.nalLengthSize}-byte NAL lengths`);
      codec = avcCodecString(config.sps[0]!);
    } catch (err) {
      return this.#giveUp(`rung ${rung.rendition}'s configuration is unusable: ${(err as Error).message}`);
    }
    rung.avcC = avcC.slice();
    const video = this.#video!;
    rung.track = {
      type: 'track',
      kind: 'video',
      trackId: rung.trackId,
      codec,
      description: rung.avcC,
      width: rung.width,
      height: rung.height,
      rendition: rung.rendition,
      bitrate: rung.bitrate,
      ...(video.framerate !== undefined && { framerate: video.framerate }),
    };
    if (this.#holding && this.#rungs.every((r) => r.track)) this.#release();
  }

  #onRungFrame(index: number, keyframe: boolean, data: Uint8Array): void {
    const rung = this.#rungs[index]!;
    const source = rung.order.next();
    // Frame k out is source frame k in presentation order, keyframes included; anything else means frames were lost.
    if (!source || source.keyframe !== keyframe || source.decodeUs <= rung.lastTimestampUs) {
      return this.#restart(`rung ${rung.rendition} lost step with the source (frame ${rung.frames}${source ? `, keyframe ${keyframe} for ${source.keyframe}` : ', more frames out than in'})`);
    }
    rung.lastTimestampUs = source.decodeUs;
    rung.frames++;
    this.#workerOutput = true;
    const now = performance.now();
    rung.lagMs = now - source.fedAtMs;
    rung.lagWindow.push({ atMs: now, lagMs: rung.lagMs });
    while (rung.lagWindow.length > 0 && now - rung.lagWindow[0]!.atMs > LAG_WINDOW_MS) rung.lagWindow.shift();
    if (this.#state === 'restarting' || this.#state === 'starting') this.#setState('running');
    const chunk: ChunkMessage = { type: 'chunk', trackId: rung.trackId, keyframe, timestampUs: source.decodeUs, durationUs: 0, data };
    if (source.presentationUs !== source.decodeUs) chunk.compositionOffsetUs = source.presentationUs - source.decodeUs;
    if (this.#holding) this.#held.push(chunk);
    else this.emit('message', chunk);
  }

  /** Every rung is configured: the held messages go out, the rungs' tracks before the first chunk. */
  #release(): void {
    this.#holding = false;
    clearTimeout(this.#holdTimer);
    const held = this.#held;
    this.#held = [];
    const firstChunk = held.findIndex((m) => m.type === 'chunk');
    const rungTracks = this.#rungs.flatMap((r) => (r.track ? [r.track] : []));
    const ordered = firstChunk < 0 ? [...held, ...rungTracks] : [...held.slice(0, firstChunk), ...rungTracks, ...held.slice(firstChunk)];
    log('info', 'transcode.rungs', { stream: this.streamName, rungs: rungTracks.map((t) => `${t.rendition}:${t.width}x${t.height}:${t.codec}`).join(',') });
    for (const message of ordered) this.emit('message', message);
  }

  /** The stream goes on as the source alone (held messages released untouched); the worker stops. */
  #goWithoutRungs(state: 'off' | 'failed' | 'refused', reason: string): void {
    this.#stopWorker();
    this.#reason = reason;
    this.#setState(state);
    const event = state === 'off' ? 'transcode.off' : state === 'refused' ? 'transcode.refused' : 'transcode.gave-up';
    log(state === 'off' ? 'info' : 'warn', event, { stream: this.streamName, reason });
    this.#releaseSourceOnly();
    this.#rungs = [];
  }

  /** Hands on the held source messages without the rungs' frames (their tracks were never sent). */
  #releaseSourceOnly(): void {
    if (!this.#holding) return;
    this.#holding = false;
    clearTimeout(this.#holdTimer);
    const rungIds = new Set(this.#rungs.map((r) => r.trackId));
    const held = this.#held.filter((m) => m.type !== 'chunk' || !rungIds.has(m.trackId));
    this.#held = [];
    for (const message of held) this.emit('message', message);
  }

  /** After the rungs went out: they stop for good (the packager shows them paused), the source goes on. */
  #giveUp(reason: string): void {
    if (this.#holding) return this.#goWithoutRungs('failed', reason);
    this.#stopWorker();
    this.#reason = reason;
    this.#setState('failed');
    log('warn', 'transcode.gave-up', { stream: this.streamName, reason });
  }

  #onWorkerExit(worker: TranscodeWorker, detail: string): void {
    if (worker !== this.#worker) return;
    this.#restart(`its worker ${detail}`);
  }

  /** Kills the worker (if alive) and starts another after the back-off; the rungs pause meanwhile. */
  #restart(reason: string): void {
    if (this.#state === 'ended' || this.#state === 'failed' || this.#state === 'off') return;
    if (this.#holding) return this.#goWithoutRungs('failed', `${reason}, before its rungs were configured`);
    const ranMs = performance.now() - this.#workerStartedAtMs;
    if (ranMs >= STABLE_RUN_MS) {
      this.#backoffMs = RESTART_MIN_MS;
      this.#unstableRestarts = 0;
    }
    if (this.#unstableRestarts >= MAX_UNSTABLE_RESTARTS) {
      return this.#giveUp(`its worker was restarted ${MAX_UNSTABLE_RESTARTS} times without running ${STABLE_RUN_MS / 1000} s, then ${reason}`);
    }
    this.#unstableRestarts++;
    this.#worker?.close();
    this.#worker = undefined;
    const delayMs = this.#backoffMs;
    this.#backoffMs = Math.min(RESTART_MAX_MS, this.#backoffMs * 2);
    this.#setState('restarting');
    this.#reason = reason;
    log('warn', 'transcode.restart', { stream: this.streamName, reason, inMs: delayMs, restarts: this.#restarts + 1 });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#state !== 'restarting') return;
      this.#restarts++;
      this.#startWorker();
    }, delayMs);
  }

  /**
   * Restarts a worker that fell behind real time; samples its CPU. A frame waiting is behind only while later input
   * came: a decoder keeps its reorder delay (B-frames) until more input arrives, so a publisher's pause ages frames the
   * worker cannot finish. A worker starting up (spawn, encoder set-up) is not behind until MAX_HOLD_MS.
   */
  #check(): void {
    const worker = this.#worker;
    if (!worker) return;
    const now = performance.now();
    if (worker.stuck) return this.#restart(`it fell behind real time (it stopped reading its input)`);
    const oldest = Math.min(...this.#rungs.map((r) => r.order.oldestFedAtMs ?? now));
    const waitedMs = this.#lastFedAtMs - oldest;
    const startingUp = !this.#workerOutput && now - this.#workerStartedAtMs < MAX_HOLD_MS;
    if (!startingUp && waitedMs > this.#options.maxLagMs) {
      return this.#restart(`it fell behind real time (a frame waited ${Math.round(waitedMs)} ms behind later input, more than ${this.#options.maxLagMs})`);
    }
    const cpuS = worker.cpuSeconds();
    if (cpuS === undefined) return;
    const previous = this.#cpuSample;
    if (previous && now > previous.atMs) this.#cpu = (cpuS - previous.cpuS) / ((now - previous.atMs) / 1000);
    this.#cpuSample = { atMs: now, cpuS };
  }

  #stopWorker(): void {
    this.#worker?.close();
    this.#worker = undefined;
    clearTimeout(this.#holdTimer);
    clearTimeout(this.#restartTimer);
    clearInterval(this.#checkTimer);
  }

  #onEnd(reason: PublishEndReason, detail: string | undefined): void {
    this.#releaseSourceOnly();
    this.#stopWorker();
    this.#setState('ended');
    this.emit('end', reason, detail);
    this.removeAllListeners();
  }

  #setState(state: TranscodeState): void {
    if (state === 'running' || state === 'starting') this.#reason = undefined;
    this.#state = state;
  }

  protected override errorContext(): ErrorContext {
    return { stream: this.streamName };
  }
}
