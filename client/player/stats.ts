// What the player reports about playback, and the small counters that produce it.
import type { LatencyMode } from './config.ts';

export type PlayerState = 'idle' | 'connecting' | 'playing' | 'error';

/** Why the player is in its state; lets a page say "waiting for the broadcast" rather than just "connecting". */
export type StateReason =
  | 'created'
  | 'loading'
  | 'waiting-for-broadcast'
  | 'retrying'
  | 'playing'
  | 'ended'
  | 'failed'
  | 'destroyed';

export interface PlayerStats {
  state: PlayerState;
  reason: StateReason;
  latencyMode: LatencyMode;
  /** Glass-to-glass: now − program date time of the frame on screen. */
  latencyMs: number | null;
  /**
   * The latency the player holds. `low`: the glass-to-glass target of the catch-up control (same measure as
   * `latencyMs`). `p2p`: where hls.js holds playback behind the playlist's live edge.
   */
  targetLatencyMs: number | null;
  /** `low` mode: part bytes arrived − program date time of the part's end, median of the last parts (null before any). */
  deliveryMs: number | null;
  /** Media buffered ahead of the playhead. */
  bufferMs: number;
  /** Real stalls after playback started, each episode counted once. */
  stalls: number;
  /** Bits per second of the media being loaded (measured), else the level's declared bandwidth. */
  bitrate: number | null;
  /** `WIDTHxHEIGHT` of the decoded video. */
  resolution: string | null;
  droppedFrames: number;
  decodedFrames: number;
  /** Chromium's audio decode counter; > 0 proves audio is being decoded. Null where the browser has none. */
  audioDecodedBytes: number | null;
  currentTime: number;
  /**
   * From `load()` to the first video frame presented. Retries count; waiting for a broadcast that is not live yet does
   * not: then the clock starts when the broadcast is found live.
   */
  timeToFirstFrameMs: number | null;
  /** Start-up milestones, ms from the same start as `timeToFirstFrameMs`: where the time to first frame goes. */
  startup: StartupTimeline;
  /** hls.js level index in use, -1 before one is chosen. */
  level: number;
  /** Name of the rung playing (its media playlist's directory, e.g. `480p`), null before one is chosen. */
  rendition: string | null;
  /** Bits per second the ABR estimates the network carries; null before any measurement. */
  bandwidthEstimateBps: number | null;
  /** Rung changes since the stream started. */
  switches: number;
  muted: boolean;
  playbackRate: number;
  /** The edge requests go to, when the player knows several edges; null otherwise. */
  edge: string | null;
  /** How many times playback moved to another edge. */
  edgeSwitches: number;
  /** Seeks the playhead watchdog made to move a playhead that stood still with media buffered at it. */
  stuckPlayheadRecoveries: number;
  /**
   * `low` mode: runs of whole chunks of parts handed to MSE before their part had fully arrived, for the current
   * stream; null when parts are appended only whole (`p2p` mode, `abr: 'hls.js'`, or an hls.js the adapter does not fit).
   */
  earlyChunkPushes: number | null;
  /** `p2p` mode: media bytes loaded over HTTP by the peer engine (0 in `low` mode, which does not count them). */
  bytesHttp: number;
  /** `p2p` mode: media bytes received from peers (0 in `low` mode). */
  bytesP2p: number;
  /** `p2p` mode: peers connected now (0 in `low` mode). */
  peers: number;
  /** `p2p` mode: segments peers sent that did not match the origin's digest (each drops its peer; HTTP serves it). */
  rejectedP2pSegments: number;
  /** `p2p` mode: peers caught sending a bad segment, refused for the rest of the session (0 in `low` mode). */
  bannedPeers: number;
}

export interface StartupTimeline {
  manifestLoadedMs: number | null;
  playlistLoadedMs: number | null;
  firstPartLoadedMs: number | null;
  firstAppendMs: number | null;
  firstFrameMs: number | null;
}

export function emptyStartupTimeline(): StartupTimeline {
  return { manifestLoadedMs: null, playlistLoadedMs: null, firstPartLoadedMs: null, firstAppendMs: null, firstFrameMs: null };
}

/** Milliseconds of media buffered ahead of `currentTime` in the range that contains it (0 when none does). */
export function bufferAheadMs(buffered: TimeRanges, currentTime: number): number {
  // A playhead sitting in a tiny gap before a range still has that range ahead of it.
  const gapToleranceS = 0.1;
  for (let i = 0; i < buffered.length; i++) {
    const start = buffered.start(i);
    const end = buffered.end(i);
    if (currentTime >= start - gapToleranceS && currentTime < end) {
      return Math.max(0, Math.round((end - currentTime) * 1000));
    }
  }
  return 0;
}

/** Counts stall episodes: a stall after playback has started, counted once until playback moves again. */
export class StallCounter {
  #count = 0;
  #started = false;
  #stalled = false;

  get count(): number {
    return this.#count;
  }

  /** Playback is (again) moving forward. */
  playing(): void {
    this.#started = true;
    this.#stalled = false;
  }

  /** A `waiting` event or hls.js BUFFER_STALLED_ERROR; before the first frame it is start-up, not a stall. True when a new episode begins. */
  stalled(): boolean {
    if (!this.#started || this.#stalled) return false;
    this.#stalled = true;
    this.#count++;
    return true;
  }

  /** A new stream (a new broadcast) starts over: its start-up wait is not a stall. */
  restart(): void {
    this.#started = false;
    this.#stalled = false;
  }
}

/** Bitrate measured over the last few seconds of loaded media (bytes per media second, not per wall second). */
export class BitrateWindow {
  static readonly WINDOW_S = 6;
  #samples: { bytes: number; durationS: number }[] = [];

  add(bytes: number, durationS: number): void {
    if (!(durationS > 0) || !(bytes >= 0)) return;
    this.#samples.push({ bytes, durationS });
    let total = this.#samples.reduce((sum, s) => sum + s.durationS, 0);
    while (this.#samples.length > 1 && total - (this.#samples[0]?.durationS ?? 0) >= BitrateWindow.WINDOW_S) {
      total -= this.#samples.shift()?.durationS ?? 0;
    }
  }

  get bitsPerSecond(): number | null {
    const durationS = this.#samples.reduce((sum, s) => sum + s.durationS, 0);
    if (durationS === 0) return null;
    const bytes = this.#samples.reduce((sum, s) => sum + s.bytes, 0);
    return Math.round((bytes * 8) / durationS);
  }

  clear(): void {
    this.#samples = [];
  }
}

/** The median of the last few samples: robust to the one part that arrived late. */
export class MedianWindow {
  readonly #size: number;
  #samples: number[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.#samples.push(value);
    if (this.#samples.length > this.#size) this.#samples.shift();
  }

  get median(): number | null {
    if (this.#samples.length === 0) return null;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? null;
  }

  clear(): void {
    this.#samples = [];
  }
}

/** Where a chunk of media came from, as p2p-media-loader names it. */
export type ChunkSource = 'http' | 'p2p';

/** `p2p` mode: media bytes by source and the peers connected, fed by the peer engine's events. */
export class PeerTraffic {
  #bytesHttp = 0;
  #bytesP2p = 0;
  /** Connected peers, by stream type and peer id: a peer of two streams (main and secondary) is two connections. */
  readonly #peers = new Set<string>();

  get bytesHttp(): number {
    return this.#bytesHttp;
  }

  get bytesP2p(): number {
    return this.#bytesP2p;
  }

  get peers(): number {
    return this.#peers.size;
  }

  chunk(bytes: number, source: ChunkSource): void {
    if (!(bytes > 0)) return;
    if (source === 'p2p') this.#bytesP2p += bytes;
    else this.#bytesHttp += bytes;
  }

  peerConnected(peerId: string, streamType: string): void {
    this.#peers.add(`${streamType}:${peerId}`);
  }

  peerClosed(peerId: string, streamType: string): void {
    this.#peers.delete(`${streamType}:${peerId}`);
  }

  /** A new engine (a reload of the stream) starts with no peers; the byte counts go on. */
  peersGone(): void {
    this.#peers.clear();
  }
}
