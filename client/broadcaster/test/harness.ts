// Test harness page: runs the Broadcaster with a source into a MemoryTransport and exposes what it would send.
import { Broadcaster, parseLadder, type BroadcasterState, type BroadcasterStats, type SourceKind } from '../index.ts';
import { StillFrameFiller } from '../still-frame-filler.ts';
import { MemoryTransport } from './memory-transport.ts';

export interface HarnessResult {
  /** Every data-channel frame, base64. */
  frames: string[];
  states: BroadcasterState[];
  statsWhileLive: BroadcasterStats;
  statsAfterStop: BroadcasterStats;
}

export interface HarnessOptions {
  durationMs: number;
  segmentTargetMs: number;
  source: SourceKind;
  /** Plays a congested channel for one stats interval once this long live. */
  congestAtMs?: number;
  /** A `&ladder=` value; the default ladder without one. */
  ladder?: string;
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

window.runHarness = async ({ durationMs, segmentTargetMs, source, congestAtMs, ladder }) => {
  const transport = new MemoryTransport(segmentTargetMs);
  const config = ladder === undefined ? {} : { ladder: parseLadder(ladder) };
  const broadcaster = new Broadcaster({ streamName: 'harness', source, config, connect: async () => transport });
  const states: BroadcasterState[] = [broadcaster.state];
  broadcaster.on('state', (state) => {
    states.push(state);
    document.body.dataset.state = state;
  });
  await broadcaster.start();
  await new Promise<void>((resolve) => {
    const onStats = (stats: BroadcasterStats): void => {
      transport.congested = congestAtMs !== undefined && !transport.congested && stats.timeLiveMs >= congestAtMs && stats.droppedFrames === 0;
      if (stats.timeLiveMs < durationMs) return;
      broadcaster.off('stats', onStats);
      resolve();
    };
    broadcaster.on('stats', onStats);
  });
  const statsWhileLive = broadcaster.stats();
  await broadcaster.stop();
  return {
    frames: transport.frames.map((f) => btoa(Array.from(f, (b) => String.fromCharCode(b)).join(''))),
    states,
    statsWhileLive,
    statsAfterStop: broadcaster.stats(),
  };
};
