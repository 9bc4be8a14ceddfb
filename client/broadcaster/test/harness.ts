// Test harness page: runs the Broadcaster with a source into a MemoryTransport and exposes what it would send.
import { DEFAULT_ADAPTATION, type AdaptationConfig } from '../adaptive-publishing.ts';
import type { Rung } from '../config.ts';
import { Broadcaster, parseLadder, type BroadcasterState, type BroadcasterStats, type SourceKind } from '../index.ts';
import { StillFrameFiller } from '../still-frame-filler.ts';
import { MemoryTransport } from './memory-transport.ts';

export interface HarnessResult {
  /** Every data-channel frame, base64, by channel label (the control channel first). */
  channels: [label: string, frames: string[]][];
  states: BroadcasterState[];
  statsWhileLive: BroadcasterStats;
  /** The stats at every stats interval while live. */
  statsHistory: BroadcasterStats[];
  statsAfterStop: BroadcasterStats;
}

export interface HarnessOptions {
  durationMs: number;
  segmentTargetMs: number;
  source: SourceKind;
  /** The ladder to encode: rungs, or a `&ladder=` value (parseLadder); the default config's otherwise. */
  ladder?: Rung[] | string;
  /** Frames per second of the source and every rung; the default config's otherwise. */
  framerate?: number;
  /** From `atMs` live to `untilMs` live, the channel of track `trackId` carries only `bytesPerSecond`. */
  congest?: { atMs: number; untilMs: number; trackId: number; bytesPerSecond: number };
  maxBufferedBytes?: number;
  lowBufferedBytes?: number;
  /** Overrides of adaptive publishing's settings (`enabled: false`: back-pressure alone decides what pauses). */
  adaptation?: Partial<AdaptationConfig>;
}

/** What a broadcast did that lost its connection and was stopped while its reconnection attempt was under way. */
export interface StopWhileReconnectingResult {
  /** The `replaces` each connect() was called with (the first, going live, none). */
  replaces: (string | undefined)[];
  /** Whether each connect()'s signal was aborted once stop() resolved. */
  abortedSignals: boolean[];
  /** The `withinMs` of every stopLost() call on the lost transport. */
  stopLostCalls: number[];
  states: BroadcasterState[];
}

declare global {
  interface Window {
    runHarness(opts: HarnessOptions): Promise<HarnessResult>;
    runStopWhileReconnecting(): Promise<StopWhileReconnectingResult>;
    runStillFrameFiller(): { timestamp: number; width: number }[];
  }
}

/** Drives a StillFrameFiller with a made-up clock: one real frame, a still picture, then another real frame. */
window.runStillFrameFiller = () => {
  const emitted: { timestamp: number; width: number }[] = [];
  const filler = new StillFrameFiller((frame) => {
    emitted.push({ timestamp: frame.timestamp, width: frame.codedWidth });
    frame.close();
  }, 100_000);
  const canvas = new OffscreenCanvas(320, 180);
  canvas.getContext('2d')!.fillRect(0, 0, 320, 180);
  filler.push(new VideoFrame(canvas, { timestamp: 1_000 }));
  for (const nowUs of [50_000, 101_000, 150_000, 201_500, 240_000]) filler.tick(nowUs);
  filler.push(new VideoFrame(canvas, { timestamp: 250_000 }));
  for (const nowUs of [300_000, 351_000]) filler.tick(nowUs);
  filler.close();
  filler.tick(500_000);
  return emitted;
};

window.runHarness = async ({ durationMs, segmentTargetMs, source, ladder, framerate, congest, maxBufferedBytes, lowBufferedBytes, adaptation }) => {
  let transport: MemoryTransport | undefined;
  const config = {
    ...(ladder !== undefined && { ladder: typeof ladder === 'string' ? parseLadder(ladder) : ladder }),
    ...(framerate !== undefined && { framerate }),
    ...(maxBufferedBytes !== undefined && { maxBufferedBytes }),
    ...(lowBufferedBytes !== undefined && { lowBufferedBytes }),
    ...(adaptation !== undefined && { adaptation: { ...DEFAULT_ADAPTATION, ...adaptation } }),
  };
  const broadcaster = new Broadcaster({
    streamName: 'harness',
    source,
    config,
    connect: async (_name, { trackIds }) => (transport = new MemoryTransport(segmentTargetMs, trackIds)),
  });
  const states: BroadcasterState[] = [broadcaster.state];
  broadcaster.on('state', (state) => {
    states.push(state);
    document.body.dataset.state = state;
  });
  await broadcaster.start();
  const statsHistory: BroadcasterStats[] = [];
  let congestion: 'before' | 'on' | 'after' = 'before';
  await new Promise<void>((resolve) => {
    const onStats = (stats: BroadcasterStats): void => {
      statsHistory.push(stats);
      const channel = congest && transport!.tracks.get(congest.trackId)!;
      if (congest && channel && congestion === 'before' && stats.timeLiveMs >= congest.atMs) {
        congestion = 'on';
        channel.limit(congest.bytesPerSecond);
      } else if (congest && channel && congestion === 'on' && stats.timeLiveMs >= congest.untilMs) {
        congestion = 'after';
        channel.limit(Number.POSITIVE_INFINITY);
      }
      if (stats.timeLiveMs < durationMs) return;
      broadcaster.off('stats', onStats);
      resolve();
    };
    broadcaster.on('stats', onStats);
  });
  const statsWhileLive = broadcaster.stats();
  await broadcaster.stop();
  return {
    channels: transport!.channels.map((c) => [c.label, c.frames.map((f) => btoa(Array.from(f, (b) => String.fromCharCode(b)).join('')))]),
    states,
    statsWhileLive,
    statsHistory,
    statsAfterStop: broadcaster.stats(),
  };
};

/**
 * Goes live on a MemoryTransport, loses its connection, and stops while the reconnection attempt hangs (as one waiting
 * on ICE or its data channels does): the attempt settles only when its signal aborts.
 */
window.runStopWhileReconnecting = async () => {
  const calls: { replaces: string | undefined; signal: AbortSignal | undefined }[] = [];
  let first: MemoryTransport | undefined;
  let attempting: () => void = () => undefined;
  const attempted = new Promise<void>((resolve) => (attempting = resolve));
  const broadcaster = new Broadcaster({
    streamName: 'harness',
    source: 'test',
    config: { ladder: parseLadder('240p') },
    connect: async (_name, { trackIds, replaces, signal }) => {
      calls.push({ replaces, signal });
      if (!first) return (first = new MemoryTransport(1000, trackIds, 'lost-session'));
      attempting();
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    },
  });
  const states: BroadcasterState[] = [broadcaster.state];
  broadcaster.on('state', (state) => states.push(state));
  await broadcaster.start();
  first!.lose('harness');
  await attempted;
  await broadcaster.stop();
  return {
    replaces: calls.map((c) => c.replaces),
    abortedSignals: calls.map((c) => c.signal?.aborted ?? false),
    stopLostCalls: first!.stopLostCalls,
    states,
  };
};
