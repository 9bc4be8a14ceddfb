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

declare global {
  interface Window {
    runHarness(opts: HarnessOptions): Promise<HarnessResult>;
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
