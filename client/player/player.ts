// SwarmcastPlayer: hls.js in the chosen latency mode on a <video>, with latency control, waiting/ended handling, bounded recovery and stats.
import Hls, { FetchLoader } from 'hls.js/light';
import type { ErrorData, FragLoadedData, LevelLoadedData, Part } from 'hls.js';
import { TypedEmitter } from '../../shared/events.ts';
import { StreamedPartAbr } from './abr.ts';
import { CatchUpController } from './catch-up.ts';
import { DEFAULT_PLAYER_CONFIG, DEFAULT_STREAM_TIMING, hlsConfigFor, parseTargetLatencyMs, streamTimeoutsFor } from './config.ts';
import { edgeFailoverLoader } from './edge-failover-loader.ts';
import { AdaptiveLatencyTarget } from './latency-target.ts';
import { EdgeSet } from './edge-set.ts';
import type { PlayerConfig, StreamTimeouts, StreamTiming } from './config.ts';
import { PlayerError } from './errors.ts';
import { hintedPartPlaylistLoader } from './hinted-parts.ts';
import { installPartProgress, type PartProgress } from './hls-part-progress.ts';
import { PlayheadWatchdog } from './playhead-watchdog.ts';
import { firstVariantUri, hasEndList } from './playlist-probe.ts';
import { BitrateWindow, MedianWindow, PeerTraffic, StallCounter, bufferAheadMs, emptyStartupTimeline } from './stats.ts';
import type { PlayerState, PlayerStats, StartupTimeline, StateReason } from './stats.ts';

export type PlayerEvents = {
  state: [state: PlayerState, reason: StateReason];
  stats: [stats: PlayerStats];
  error: [error: PlayerError];
  /** Playback started; `muted` is true when the browser refused unmuted autoplay and the player fell back to muted. */
  autoplay: [info: { muted: boolean }];
  /** The stream's rungs are known (its multivariant playlist was read), highest first. */
  rungs: [rungs: Rung[]];
  /** The rung playing changed, or the choice between a pinned rung and Auto did. */
  quality: [quality: Quality];
};

/** One rung of the stream's ladder. */
export interface Rung {
  /** The rendition's name, e.g. `720p`. */
  name: string;
  height: number;
  /** Declared bandwidth, bits per second. */
  bandwidth: number;
  /** hls.js's level index. */
  level: number;
}

/** Which rung plays and whether the player chooses it (Auto) or the viewer pinned it. */
export interface Quality {
  rendition: string | null;
  /** hls.js's level index of the rung playing, -1 before one plays. */
  level: number;
  auto: boolean;
}

/** A media error this soon after the previous recovery counts towards the same failure streak. */
const MEDIA_RECOVERY_STREAK_MS = 10_000;
/**
 * After the playlist's ENDLIST, a playhead starved at the end of its buffer this long means the broadcast is over even
 * without the video's `ended` (hls.js sometimes leaves the last short part of a final segment unappended).
 */
const ENDED_STALL_MS = 1000;
/** "At the end of its buffer": less than this buffered ahead. */
const ENDED_BUFFER_MS = 300;
/** Parts whose delivery time is reported as a median: about two seconds of 200 ms parts. */
const DELIVERY_WINDOW_PARTS = 10;

type ChromiumVideo = HTMLVideoElement & { webkitAudioDecodedByteCount?: number };

type P2pModule = typeof import('./p2p.ts');
/** `p2p` mode's peer engine (from its own chunk) and the settings read for the current source. */
interface P2pLoaded {
  create: P2pModule['createP2pHls'];
  settings: Awaited<ReturnType<P2pModule['p2pSettingsFor']>>;
  src: string;
}

export class SwarmcastPlayer extends TypedEmitter<PlayerEvents> {
  readonly #video: ChromiumVideo;
  readonly #config: PlayerConfig;
  #hls: Hls | null = null;
  #src: string | undefined;
  #state: PlayerState = 'idle';
  #reason: StateReason = 'created';
  #destroyed = false;

  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #pollAttempt = 0;
  #networkFailures = 0;
  #mediaFailures = 0;
  #lastMediaRecoveryAt = -Infinity;

  /** performance.now() of `load()`, or of finding the broadcast live after waiting for it. */
  #startupStartedAt = 0;
  #firstFrameSeen = false;
  #timeToFirstFrameMs: number | null = null;
  #startup: StartupTimeline = emptyStartupTimeline();
  #lastCurrentTime = 0;
  /** Playback was started and not paused since (a `pause` event); a source reload pauses the element without one. */
  #wantsToPlay = false;
  #catchUpTimer: ReturnType<typeof setInterval> | undefined;
  readonly #catchUp: CatchUpController | null;
  /** `low` mode: the target the catch-up holds, adapted to measured media delay and stalls. */
  readonly #latencyTarget: AdaptiveLatencyTarget | null;
  readonly #watchdog: PlayheadWatchdog;
  #watchdogTimer: ReturnType<typeof setInterval> | undefined;
  readonly #stalls = new StallCounter();
  readonly #bitrate = new BitrateWindow();
  readonly #delivery = new MedianWindow(DELIVERY_WINDOW_PARTS);
  readonly #videoEvents = new AbortController();
  /** Set when the player knows two or more edges. */
  readonly #edges: EdgeSet | null;
  #edgeStallTimer: ReturnType<typeof setTimeout> | undefined;
  /** The stream's timing as its last media playlist stated it, and the timeouts that follow from it. */
  #timing: StreamTiming = DEFAULT_STREAM_TIMING;
  #timeouts: StreamTimeouts;
  /** The current hls.js instance's ABR state (`abr: 'streamed'`). */
  #abr: StreamedPartAbr | null = null;
  /** `low` mode with the streamed ABR's loader and a `&target=`: the current hls.js instance's appending of parts as they arrive. */
  #partProgress: PartProgress | null = null;
  /** performance.now() since when the playhead has been starved at its buffer's end after ENDLIST, or null. */
  #starvedAtEndSince: number | null = null;
  /** Changes of the rung playing (hls.js's LEVEL_SWITCHED after the first), -1 before the first. */
  #switches = -1;
  /** The rung the viewer pinned, by name so that it survives a reload of the stream; null: Auto. */
  #pinned: string | null = null;
  /** `p2p` mode: the peer engine, loaded on the first start; null until then and in `low` mode. */
  #p2p: P2pLoaded | null = null;
  #p2pLoading: Promise<void> | null = null;
  readonly #traffic = new PeerTraffic();
  #rejectedP2pSegments = 0;
  /** `p2p` mode: peers caught sending a bad segment, refused for the rest of the session. */
  readonly #bannedPeers = new Set<string>();

  constructor(video: HTMLVideoElement, options: Partial<PlayerConfig> = {}) {
    super();
    this.#video = video;
    this.#config = { ...DEFAULT_PLAYER_CONFIG, ...options };
    this.#src = this.#config.src;
    this.#timeouts = streamTimeoutsFor(this.#config.latencyMode, this.#timing, this.#config.timeouts);
    const floorMs = this.#config.latencyTargetFloorMs;
    if (floorMs !== null) parseTargetLatencyMs(String(floorMs));
    this.#latencyTarget = this.#config.latencyMode === 'low' ? new AdaptiveLatencyTarget(this.#config.latencyTarget, floorMs) : null;
    this.#catchUp = this.#latencyTarget ? new CatchUpController({ ...this.#config.catchUp, targetLatencyMs: this.#latencyTarget.targetMs }) : null;
    this.#watchdog = new PlayheadWatchdog(this.#config.playheadWatchdog);
    this.#edges = this.#config.edges.length > 1 ? new EdgeSet(this.#config.edges) : null;
    this.#edges?.on('switch', (from, to, reason) => console.warn(`[swarmcast] edge ${from} failed (${reason}); now playing from ${to}`));
    this.#listenToVideo();
  }

  /** Whether this browser has Media Source Extensions that hls.js can play through. */
  static isSupported(): boolean {
    return Hls.isSupported();
  }

  get state(): PlayerState {
    return this.#state;
  }

  get reason(): StateReason {
    return this.#reason;
  }

  get src(): string | undefined {
    return this.#src;
  }

  /** Starts playing `src` (or the configured `src`); waits for the broadcast if it is not live yet. */
  load(src: string | undefined = this.#config.src): void {
    if (this.#destroyed) throw new PlayerError('other', 'this player has been destroyed', src);
    if (!src) throw new PlayerError('no-source', 'no stream to play: pass a playlist URL to load() or set `src`');
    this.#src = new URL(src, globalThis.location?.href).href;
    this.#clearRetry();
    this.#pollAttempt = 0;
    this.#networkFailures = 0;
    this.#mediaFailures = 0;
    this.#restartStartupClock();
    if (!Hls.isSupported()) {
      this.#fail(new PlayerError('unsupported', 'This browser cannot play live streams (Media Source Extensions are missing).', this.#src));
      return;
    }
    this.#statsTimer ??= setInterval(() => this.emit('stats', this.stats()), this.#config.statsIntervalMs);
    if (this.#catchUp) this.#catchUpTimer ??= setInterval(() => this.#controlLatency(), this.#config.catchUpIntervalMs);
    this.#watchdogTimer ??= setInterval(() => this.#watchPlayhead(), this.#config.playheadWatchdogIntervalMs);
    this.#start('loading');
  }

  /** The stream's rungs, highest first; empty until its multivariant playlist was read. */
  rungs(): Rung[] {
    const levels = this.#hls?.levels ?? [];
    return levels
      .map((level, index) => ({ name: renditionOf(level.url[0] ?? '') ?? `${level.height}p`, height: level.height, bandwidth: level.bitrate, level: index }))
      .sort((a, b) => b.bandwidth - a.bandwidth);
  }

  get quality(): Quality {
    const hls = this.#hls;
    const level = hls?.currentLevel ?? -1;
    const playing = hls && level >= 0 ? hls.levels[level] : undefined;
    return { rendition: playing ? renditionOf(playing.url[0] ?? '') : null, level, auto: this.#pinned === null };
  }

  /**
   * Pins the rung named `name` (see `rungs()`), or goes back to Auto with null. The switch takes hls.js's own
   * non-flushing path (`loadLevel`), the one the ABR's switches take, so it reloads from an independent part without a
   * stall; Auto hands the choice back to the ABR.
   */
  setQuality(name: string | null): void {
    this.#pinned = name;
    this.#applyQuality();
    this.emit('quality', this.quality);
  }

  #applyQuality(): void {
    const hls = this.#hls;
    if (!hls || hls.levels.length === 0) return;
    const rung = this.#pinned === null ? undefined : this.rungs().find((r) => r.name === this.#pinned);
    const level = rung?.level ?? -1;
    if (hls.manualLevel !== level) hls.loadLevel = level;
  }

  /** Jumps to the live edge (after a pause or a seek back) and plays. */
  seekToLive(): void {
    const video = this.#video;
    const edge = this.#hls?.liveSyncPosition;
    if (edge !== null && edge !== undefined && edge > video.currentTime) video.currentTime = edge;
    if (video.paused && this.#hls) this.#play();
  }

  stats(): PlayerStats {
    const video = this.#video;
    const hls = this.#hls;
    const quality = video.getVideoPlaybackQuality();
    const playing = this.#state === 'playing';
    const latencyMs = playing ? this.#latencyMs() : null;
    const hlsTarget = hls?.targetLatency ?? null;
    const targetLatencyMs = this.#catchUp ? this.#catchUp.targetLatencyMs : hlsTarget === null ? null : Math.round(hlsTarget * 1000);
    const level = hls && hls.currentLevel >= 0 ? hls.levels[hls.currentLevel] : undefined;
    return {
      state: this.#state,
      reason: this.#reason,
      latencyMode: this.#config.latencyMode,
      latencyMs,
      targetLatencyMs,
      deliveryMs: this.#delivery.median,
      bufferMs: bufferAheadMs(video.buffered, video.currentTime),
      stalls: this.#stalls.count,
      bitrate: this.#bitrate.bitsPerSecond ?? (level?.bitrate || null),
      resolution: video.videoWidth > 0 ? `${video.videoWidth}x${video.videoHeight}` : null,
      droppedFrames: quality.droppedVideoFrames,
      decodedFrames: quality.totalVideoFrames,
      audioDecodedBytes: video.webkitAudioDecodedByteCount ?? null,
      currentTime: video.currentTime,
      timeToFirstFrameMs: this.#timeToFirstFrameMs,
      startup: { ...this.#startup },
      level: hls?.currentLevel ?? -1,
      rendition: level ? renditionOf(level.url[0] ?? '') : null,
      bandwidthEstimateBps: this.#bandwidthEstimateBps(),
      switches: Math.max(0, this.#switches),
      muted: video.muted,
      playbackRate: video.playbackRate,
      edge: this.#edges?.active ?? null,
      edgeSwitches: this.#edges?.switches ?? 0,
      stuckPlayheadRecoveries: this.#watchdog.recoveries,
      earlyChunkPushes: this.#partProgress?.installed ? this.#partProgress.earlyPushes : null,
      bytesHttp: this.#traffic.bytesHttp,
      bytesP2p: this.#traffic.bytesP2p,
      peers: this.#traffic.peers,
      rejectedP2pSegments: this.#rejectedP2pSegments,
      bannedPeers: this.#bannedPeers.size,
    };
  }

  /** Stops everything this player started: hls.js, timers, listeners. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#clearRetry();
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    clearInterval(this.#catchUpTimer);
    this.#catchUpTimer = undefined;
    clearInterval(this.#watchdogTimer);
    this.#watchdogTimer = undefined;
    this.#teardownHls();
    this.#videoEvents.abort();
    this.#setState('idle', 'destroyed');
    this.removeAllListeners();
  }

  #start(reason: StateReason): void {
    const src = this.#src;
    if (this.#destroyed || !src) return;
    if (this.#config.latencyMode === 'p2p' && this.#p2p?.src !== src) {
      this.#teardownHls();
      this.#setState('connecting', reason);
      // A start that arrives while the engine loads is served by the start that follows the load.
      this.#p2pLoading ??= this.#loadP2p(src).then(
        () => {
          this.#p2pLoading = null;
          this.#start(reason);
        },
        (err: unknown) => {
          this.#p2pLoading = null;
          this.#fail(new PlayerError('other', `The peer-to-peer engine could not be loaded (${String(err)}).`, src, { cause: err }));
        },
      );
      return;
    }
    this.#teardownHls();
    this.#stalls.restart();
    this.#bitrate.clear();
    this.#delivery.clear();
    this.#catchUp?.reset();
    this.#latencyTarget?.reset();
    this.#watchdog.reset();
    this.#video.playbackRate = 1;
    this.#firstFrameSeen = false;
    this.#lastCurrentTime = 0;
    this.#setState('connecting', reason);

    const edges = this.#edges;
    // In `p2p` mode the peer engine loads segments (its fragment loader replaces the timed one), so hls.js's ABR decides.
    const abr = this.#config.abr === 'streamed' && !this.#p2p ? new StreamedPartAbr() : null;
    this.#abr = abr;
    if (abr) abr.onEmergency = () => this.#controlLatency();
    this.#switches = -1;
    // A viewer who asks for a latency target (`&target=`) gets the chunk-by-chunk path in `low` mode: the streamed ABR's
    // loader hands hls.js each whole chunk of a part as it arrives, and the playlists list the part in production so
    // that hls.js asks for it while it is produced (hinted-parts.ts). Not yet the default: the full suite found it
    // losing `playing` across a publisher's reconnect and stalling the throttled-ABR traces (see the README).
    const progressive = this.#config.latencyMode === 'low' && abr !== null && this.#config.latencyTargetFloorMs !== null;
    if (abr) abr.streamsHintedParts = progressive;
    const hlsConfig = {
      ...hlsConfigFor(this.#config.latencyMode, this.#timeouts, this.#config.p2p),
      ...(edges && { loader: edgeFailoverLoader(edges) }),
      ...(progressive && { pLoader: hintedPartPlaylistLoader(edges ? edgeFailoverLoader(edges) : Hls.DefaultConfig.loader, (level) => this.#streamsParts(level)) }),
      ...(abr && { abrController: abr.controller(), fLoader: abr.timedLoader(edges ? edgeFailoverLoader(edges, FetchLoader) : FetchLoader) }),
    };
    const p2p = this.#p2p;
    const hls = p2p
      ? p2p.create(hlsConfig, p2p.settings, this.#config.p2p, {
          traffic: this.#traffic,
          rejected: (peerId) => {
            this.#rejectedP2pSegments++;
            console.warn(`[swarmcast] a segment from peer ${peerId ?? '(unknown)'} did not match its digest; peer banned, segment fetched over HTTP`);
          },
          banned: this.#bannedPeers,
        }, edges)
      : new Hls(hlsConfig);
    this.#hls = hls;
    this.#partProgress = progressive ? installPartProgress(hls) : null;
    hls.on(Hls.Events.LEVEL_SWITCHED, () => {
      this.#switches++;
      this.emit('quality', this.quality);
    });
    hls.on(Hls.Events.MANIFEST_LOADED, () => this.#mark('manifestLoadedMs'));
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      this.emit('rungs', this.rungs());
      this.#applyQuality();
      this.#play();
    });
    hls.on(Hls.Events.MEDIA_ATTACHED, () => this.#resumeAfterReattach(hls));
    hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => this.#onLevelLoaded(hls, data));
    hls.on(Hls.Events.FRAG_LOADED, (_event, data) => this.#onFragLoaded(data));
    hls.on(Hls.Events.BUFFER_APPENDED, () => this.#mark('firstAppendMs'));
    hls.on(Hls.Events.ERROR, (_event, data) => this.#onHlsError(hls, data));
    // MediaSource opens while the playlists load.
    hls.attachMedia(this.#video);
    hls.loadSource(edges ? edges.route(src) : src);
    this.#awaitFirstFrame(hls);
  }

  /** Loads the peer engine (its own chunk) and reads the server's peer settings for `src`. */
  async #loadP2p(src: string): Promise<void> {
    const { createP2pHls, p2pSettingsFor } = await import('./p2p.ts');
    const settings = await p2pSettingsFor(src, this.#config.p2p);
    if (src === this.#src) this.#p2p = { create: createP2pHls, settings, src };
  }

  /** The first presented frame (not just `playing`, which can fire before anything is painted) ends the start-up. */
  #awaitFirstFrame(hls: Hls): void {
    const video = this.#video;
    const seen = (): void => {
      if (hls !== this.#hls || this.#firstFrameSeen) return;
      this.#firstFrameSeen = true;
      this.#mark('firstFrameMs');
      this.#timeToFirstFrameMs ??= this.#startup.firstFrameMs;
    };
    if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(seen);
    else video.addEventListener('playing', seen, { once: true });
  }

  #restartStartupClock(): void {
    this.#startupStartedAt = performance.now();
    this.#timeToFirstFrameMs = null;
    this.#startup = emptyStartupTimeline();
  }

  /**
   * Whether rung `level` (hls.js's index) gets its parts while they are produced. A streamed part arrives at the
   * encoder's pace, which tells the ABR only that the link carries at least that much (throughput.ts), while a complete
   * part arrives at the link's pace: the way up is measured on complete parts. So parts stream on the highest rung the
   * ABR may choose, and on any rung the viewer pinned, where there is no way up to measure.
   */
  #streamsParts(level: number | null): boolean {
    const hls = this.#hls;
    if (!hls || level === null) return false;
    return !hls.autoLevelEnabled || level >= hls.maxAutoLevel;
  }

  /** Records a start-up milestone the first time it happens. */
  #mark(milestone: keyof StartupTimeline): void {
    if (this.#startup[milestone] !== null || this.#timeToFirstFrameMs !== null) return;
    this.#startup[milestone] = Math.round(performance.now() - this.#startupStartedAt);
  }

  #bandwidthEstimateBps(): number | null {
    if (this.#abr) return this.#abr.estimateBps === null ? null : Math.round(this.#abr.estimateBps);
    const estimate = this.#hls?.bandwidthEstimate;
    return estimate !== undefined && Number.isFinite(estimate) ? Math.round(estimate) : null;
  }

  /** Glass-to-glass: now − program date time of the frame at the playhead (the PDT is the frame's capture time). */
  #latencyMs(): number | null {
    const playingDate = this.#hls?.playingDate ?? null;
    return playingDate ? Date.now() - playingDate.getTime() : null;
  }

  #controlLatency(): void {
    const video = this.#video;
    const controller = this.#catchUp;
    if (!controller || this.#state !== 'playing' || video.paused || video.seeking) return;
    const latencyMs = this.#latencyMs();
    if (latencyMs === null) return;
    const nowMs = performance.now();
    const bufferMs = bufferAheadMs(video.buffered, video.currentTime);
    if (this.#latencyTarget && controller.joined) {
      // How old the newest playable media is (latency − buffer ahead = now − PDT of the buffered end): the floor under any
      // latency, whether media arrives chunk by chunk or part by part, and what the target must stay above. Not before the
      // start has joined the target: until then the newest media is a backlog still being fetched, not the network's delay.
      this.#latencyTarget.addDelay({ nowMs, delayMs: latencyMs - bufferMs });
      controller.targetLatencyMs = this.#latencyTarget.advance(nowMs);
    }
    const decision = controller.update({
      nowMs,
      latencyMs,
      bufferMs,
      switchingDown: this.#abr?.switchingDown ?? false,
    });
    if (decision.kind === 'seek') {
      video.currentTime += decision.forwardMs / 1000;
    } else if (video.playbackRate !== decision.playbackRate) {
      video.playbackRate = decision.playbackRate;
    }
  }

  /** Whether playback has stood starved at the end of its buffer for ENDED_STALL_MS after the playlist ended. */
  #starvedAtEnd(hls: Hls): boolean {
    const video = this.#video;
    const ended = hls.levels[hls.currentLevel]?.details?.live === false;
    const starved = ended && !video.paused && video.readyState < HTMLMediaElement.HAVE_FUTURE_DATA && bufferAheadMs(video.buffered, video.currentTime) < ENDED_BUFFER_MS;
    if (!starved) {
      this.#starvedAtEndSince = null;
      return false;
    }
    const now = performance.now();
    this.#starvedAtEndSince ??= now;
    return now - this.#starvedAtEndSince >= ENDED_STALL_MS;
  }

  /** Moves on a playhead that stands still with media buffered at it (see PlayheadWatchdog), logging each attempt. */
  #watchPlayhead(): void {
    const video = this.#video;
    const hls = this.#hls;
    if (!hls) return;
    if (this.#starvedAtEnd(hls)) {
      console.warn('[swarmcast] the broadcast ended and playback is at the end of what was buffered; ending playback');
      this.#ended();
      return;
    }
    const buffered: [number, number][] = [];
    for (let i = 0; i < video.buffered.length; i++) buffered.push([video.buffered.start(i), video.buffered.end(i)]);
    const decision = this.#watchdog.update({ nowMs: performance.now(), currentTimeS: video.currentTime, paused: video.paused, buffered });
    if (decision.kind !== 'seek') return;
    const ranges = buffered.map(([start, end]) => `${start.toFixed(3)}–${end.toFixed(3)}`).join(', ');
    console.warn(
      `[swarmcast] playhead stuck at ${video.currentTime.toFixed(3)} s for ${Math.round(decision.stuckForMs)} ms ` +
        `(readyState ${video.readyState}${video.seeking ? ', seeking' : ''}; buffered ${ranges}); seeking to ${decision.toS.toFixed(3)} s (attempt ${decision.attempt})`,
    );
    video.currentTime = decision.toS;
  }

  #play(): void {
    const video = this.#video;
    video.play().then(
      () => this.emit('autoplay', { muted: video.muted }),
      (err: unknown) => {
        if (!(err instanceof DOMException) || err.name !== 'NotAllowedError' || video.muted) {
          // AbortError: a reload replaced the source before play() settled; the new source plays itself.
          if (err instanceof DOMException && err.name === 'AbortError') return;
          this.emit('error', new PlayerError('autoplay', 'The browser would not start playback; press play.', this.#src, { cause: err }));
          return;
        }
        // Browsers allow muted autoplay; the page offers an "Unmute" button.
        video.muted = true;
        this.#play();
      },
    );
  }

  /**
   * hls.js re-attaches the media to recover from media errors (its own `mediaSourceRequiresReset` handling as well as
   * `recoverMediaError()`): the new source pauses the element, and hls.js does not resume it, so a viewer who was
   * watching, or whose start was pending, would be left on a paused frame. WebKit raises such errors in early joins.
   */
  #resumeAfterReattach(hls: Hls): void {
    if (hls !== this.#hls || !this.#wantsToPlay || !this.#video.paused) return;
    console.warn('[swarmcast] media re-attached after an error; resuming playback');
    this.#play();
  }

  #onLevelLoaded(hls: Hls, data: LevelLoadedData): void {
    this.#mark('playlistLoadedMs');
    this.#followStreamTiming(hls, { targetDurationS: data.details.targetduration });
    // Joining after the end: nothing live to show. While playing, the tail plays out and `ended` follows.
    if (!data.details.live && !this.#firstFrameSeen) this.#ended();
  }

  /** Re-derives the timeouts when the playlist's target duration differs from the one they were derived from. */
  #followStreamTiming(hls: Hls, timing: StreamTiming): void {
    if (!(timing.targetDurationS > 0) || timing.targetDurationS === this.#timing.targetDurationS) return;
    this.#timing = timing;
    this.#timeouts = streamTimeoutsFor(this.#config.latencyMode, timing, this.#config.timeouts);
    // hls.js reads its load policies at every request, so the next playlist request already gets the new bounds.
    const { playlistLoadPolicy } = hlsConfigFor(this.#config.latencyMode, this.#timeouts);
    if (playlistLoadPolicy) hls.config.playlistLoadPolicy = playlistLoadPolicy;
  }

  #onFragLoaded(data: FragLoadedData): void {
    this.#networkFailures = 0;
    if (data.frag.sn === 'initSegment') return;
    this.#mark('firstPartLoadedMs');
    const media = data.part ?? data.frag;
    this.#bitrate.add(media.stats.loaded, media.duration);
    if (data.part) this.#delivery.add(partDeliveryMs(data.part));
  }

  #onHlsError(hls: Hls, data: ErrorData): void {
    if (hls !== this.#hls) return;
    if (!data.fatal) {
      if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) this.#onStall();
      return;
    }
    const status = data.response?.code;
    const refusal = status === undefined ? null : accessRefusal(status, this.#src);
    if (refusal) {
      this.#fail(refusal);
      return;
    }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      const playlist = data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR || data.details === Hls.ErrorDetails.LEVEL_LOAD_ERROR;
      if (playlist && (status === 404 || status === 410)) {
        this.#waitForBroadcast();
        return;
      }
      this.#networkFailures++;
      if (this.#networkFailures > this.#config.networkRetry.maxAttempts) {
        this.#fail(new PlayerError('network', `The stream could not be loaded (${describeNetworkError(data)}).`, this.#src, { cause: data.error }));
        return;
      }
      console.warn(`[swarmcast] ${data.details} (${describeNetworkError(data)}); reload ${this.#networkFailures}/${this.#config.networkRetry.maxAttempts}`);
      this.#teardownHls();
      this.#setState('connecting', 'retrying');
      this.#retryTimer = setTimeout(() => this.#start('retrying'), this.#config.networkRetry.delayMs);
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      const now = performance.now();
      if (now - this.#lastMediaRecoveryAt > MEDIA_RECOVERY_STREAK_MS) this.#mediaFailures = 0;
      this.#lastMediaRecoveryAt = now;
      this.#mediaFailures++;
      if (this.#mediaFailures > this.#config.mediaRetry.maxAttempts) {
        this.#fail(new PlayerError('media', `This browser could not decode the stream (${data.details}).`, this.#src, { cause: data.error }));
        return;
      }
      console.warn(`[swarmcast] ${data.details}; recovering media ${this.#mediaFailures}/${this.#config.mediaRetry.maxAttempts}`);
      hls.recoverMediaError();
      return;
    }
    this.#fail(new PlayerError('other', `Playback stopped: ${data.details}.`, this.#src, { cause: data.error }));
  }

  /** The manifest is not there (yet): the broadcaster has not gone live. Poll until it is. */
  #waitForBroadcast(): void {
    this.#teardownHls();
    this.#setState('connecting', 'waiting-for-broadcast');
    this.#schedulePoll();
  }

  /** The broadcast ended: show it, and keep polling so a new broadcast on the same name starts playing. */
  #ended(): void {
    this.#starvedAtEndSince = null;
    this.#teardownHls();
    this.#setState('idle', 'ended');
    this.#schedulePoll();
  }

  #schedulePoll(): void {
    const { initialDelayMs, factor, maxDelayMs } = this.#config.waitRetry;
    const delayMs = Math.min(maxDelayMs, initialDelayMs * factor ** this.#pollAttempt);
    this.#pollAttempt++;
    this.#clearRetry();
    this.#retryTimer = setTimeout(() => void this.#pollLive(), delayMs);
  }

  /** Reads the playlists without hls.js or MSE, so waiting costs one small request per poll. */
  async #pollLive(): Promise<void> {
    const src = this.#src;
    if (this.#destroyed || !src) return;
    let live = false;
    try {
      const manifest = await fetch(this.#edges ? this.#edges.route(src) : src, { cache: 'no-store' });
      const refusal = accessRefusal(manifest.status, src);
      if (refusal) {
        if (this.#destroyed || src !== this.#src) return;
        this.#fail(refusal);
        return;
      }
      if (manifest.ok) {
        const text = await manifest.text();
        const variant = firstVariantUri(text);
        if (variant === null) {
          live = !hasEndList(text);
        } else {
          const media = await fetch(new URL(variant, manifest.url).href, { cache: 'no-store' });
          live = media.ok && !hasEndList(await media.text());
        }
      }
    } catch (err) {
      // Offline or server restarting: same as "not live yet", the next poll tries again; logged once per wait.
      if (this.#pollAttempt === 1) console.warn(`[swarmcast] polling ${src} failed: ${String(err)}`);
      this.#edges?.fail(this.#edges.active, 'unreachable while waiting for the broadcast');
    }
    if (this.#destroyed || src !== this.#src) return;
    if (live) {
      this.#pollAttempt = 0;
      // Waiting for a broadcaster is not start-up time: the first-frame clock starts now.
      this.#restartStartupClock();
      this.#start('loading');
    } else {
      this.#schedulePoll();
    }
  }

  #fail(error: PlayerError): void {
    this.#teardownHls();
    this.#clearRetry();
    this.#setState('error', 'failed');
    this.emit('error', error);
  }

  #listenToVideo(): void {
    const video = this.#video;
    const signal = this.#videoEvents.signal;
    video.addEventListener(
      'playing',
      () => {
        if (!this.#hls) return;
        this.#stalls.playing();
        this.#setState('playing', 'playing');
      },
      { signal },
    );
    video.addEventListener('play', () => (this.#wantsToPlay = true), { signal });
    video.addEventListener('pause', () => (this.#wantsToPlay = false), { signal });
    video.addEventListener(
      'waiting',
      () => {
        // Seeks (including hls.js jumping to the live edge) wait by design; they are not stalls.
        if (!video.seeking) this.#onStall();
      },
      { signal },
    );
    video.addEventListener(
      'timeupdate',
      () => {
        if (video.currentTime > this.#lastCurrentTime && !video.paused) this.#stalls.playing();
        this.#lastCurrentTime = video.currentTime;
      },
      { signal },
    );
    video.addEventListener(
      'ended',
      () => {
        if (this.#hls) this.#ended();
      },
      { signal },
    );
  }

  #onStall(): void {
    if (this.#stalls.stalled()) {
      // A start's wait for its backlog before the jump to the target says nothing of the network: it does not raise the target.
      if (this.#catchUp?.joined) this.#latencyTarget?.stalled(performance.now());
      this.#catchUp?.stalled();
    }
    this.#watchEdgeStall();
  }

  /** An edge that stops delivering without failing outright (hung, overloaded) is left after the derived edge-stall time. */
  #watchEdgeStall(): void {
    const edges = this.#edges;
    if (!edges || this.#edgeStallTimer !== undefined) return;
    const stalledAt = this.#video.currentTime;
    const { edgeStallMs } = this.#timeouts;
    this.#edgeStallTimer = setTimeout(() => {
      this.#edgeStallTimer = undefined;
      const hls = this.#hls;
      if (!hls || this.#video.paused || this.#video.currentTime > stalledAt) return;
      edges.fail(edges.active, `playback stalled for ${edgeStallMs} ms`);
      // In-flight requests to the stalled edge are dropped; loading resumes on the new edge from the live edge.
      hls.stopLoad();
      hls.startLoad(-1);
    }, edgeStallMs);
  }

  #teardownHls(): void {
    clearTimeout(this.#edgeStallTimer);
    this.#edgeStallTimer = undefined;
    const hls = this.#hls;
    if (!hls) return;
    this.#hls = null;
    hls.destroy();
  }

  #clearRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #setState(state: PlayerState, reason: StateReason): void {
    if (state === this.#state && reason === this.#reason) return;
    this.#state = state;
    this.#reason = reason;
    this.emit('state', state, reason);
  }
}

/** Part bytes arrived (wall clock) − program date time of the part's end; NaN (ignored) without a PDT. */
function partDeliveryMs(part: Part): number {
  const pdt = part.fragment.programDateTime;
  if (pdt === null) return Number.NaN;
  const arrivedAt = Date.now() - (performance.now() - part.stats.loading.end);
  return arrivedAt - (pdt + (part.fragOffset + part.duration) * 1000);
}

/** The rung's name: the directory of its media playlist (`…/NAME/480p/index.m3u8` → `480p`). */
function renditionOf(url: string): string | null {
  const parts = new URL(url, globalThis.location?.href).pathname.split('/');
  return parts.at(-2) || null;
}

function describeNetworkError(data: ErrorData): string {
  const status = data.response?.code;
  return status ? `HTTP ${status} for ${data.url ?? 'a request'}` : (data.error?.message ?? data.details);
}

/**
 * The server's refusal of this viewer as a PlayerError in words, or null for any other status: 401 and 403 (no,
 * expired, forged, another stream's or another viewer's playback token) and 451 (geo rules). Retrying cannot help.
 */
function accessRefusal(status: number, src: string | undefined): PlayerError | null {
  if (status === 401 || status === 403) {
    return new PlayerError('access-denied', 'This broadcast needs a valid link: the link has no playback token, or its token has expired or is not for this stream or this viewer.', src);
  }
  if (status === 451) return new PlayerError('geo-blocked', 'Not available in your region: the broadcaster does not offer this stream where you are.', src);
  return null;
}
