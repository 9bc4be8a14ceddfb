// EXT-X-TARGETDURATION stays constant (RFC 8216 §6.2.1): a source whose encoder owns its GOP is published from its first
// segment on, which sets the target; only a later, longer segment raises it, warned and counted.
import { describe, expect, it } from 'vitest';
import * as HLS from 'hls-parser';
import type { ChunkMessage, WireMessage } from '../../../shared/protocol/index.ts';
import { StreamPackager } from '../../packager/index.ts';
import { createMetrics } from '../../metrics.ts';
import { resolveOriginConfig } from '../config.ts';
import { RenditionTimeline } from '../rendition-timeline.ts';
import { originsPerTest } from './http-harness.ts';

const PART_US = 200_000;
const config = resolveOriginConfig({ partTargetMs: 200, segmentTargetMs: 2_000, windowSegments: 12, keepSegments: 0 });

/** A timeline fed by hand: `segment(seconds)` adds that many 200 ms parts as segment `msn` and, unless told, completes it. */
function timeline(encoderGop: boolean) {
  const raises: number[] = [];
  const t = new RenditionTimeline({ streamName: 'cam', rendition: '720p', epoch: 'e1', config, onTargetDurationRaised: () => raises.push(1) });
  t.setInit({ rendition: '720p', data: new Uint8Array(8), codecs: 'avc1.64001f,mp4a.40.2', width: 1280, height: 720, bandwidth: 2_000_000, ...(encoderGop && { encoderGop }) });
  let msn = 0;
  let partIndex = 0;
  const addParts = (seconds: number): void => {
    for (let i = 0; i < Math.round((seconds * 1_000_000) / PART_US); i++, partIndex++) {
      t.addPart({ rendition: '720p', msn, partIndex, durationUs: PART_US, independent: partIndex === 0, programDateTimeMs: msn * 10_000 + partIndex * 200, data: new Uint8Array(100) });
    }
  };
  const complete = (seconds: number): void => {
    t.completeSegment({ rendition: '720p', msn, durationUs: Math.round(seconds * 1_000_000), partCount: partIndex, programDateTimeMs: msn * 10_000 });
    msn++;
    partIndex = 0;
  };
  return {
    t,
    raises,
    segment(seconds: number): void {
      addParts(seconds);
      complete(seconds);
    },
    addParts,
    complete,
  };
}

describe('target duration of a source whose encoder owns its GOP', () => {
  it('publishes nothing until the first segment is complete; its 4 s set the target, which 4 s segments keep', async () => {
    const { t, raises, addParts, complete, segment } = timeline(true);
    addParts(4);
    expect(t.ready).toBe(false);
    // A blocking request for the first segment waits through the parts and is answered when the segment completes.
    let answered = false;
    const wait = t.waitUntil(() => t.ready && t.liveEdge().lastCompleteMsn >= 0, 5_000).then((outcome) => {
      answered = true;
      return outcome;
    });
    await Promise.resolve();
    expect(answered).toBe(false);
    complete(4);
    expect(await wait).toBe('ready');
    expect(t.ready).toBe(true);
    expect(t.snapshot().targetDurationS).toBe(4);
    for (let i = 0; i < 5; i++) segment(4);
    addParts(1.2);
    expect(t.snapshot().targetDurationS).toBe(4);
    expect(raises).toEqual([]);
  });

  it('never sets it below the configured target: a short first segment leaves 2', () => {
    const { t, raises, segment } = timeline(true);
    segment(1.2);
    expect(t.ready).toBe(true);
    expect(t.snapshot().targetDurationS).toBe(2);
    segment(2.2);
    expect(t.snapshot().targetDurationS).toBe(2);
    expect(raises).toEqual([]);
  });

  it('raises it for a later segment longer still, once per new maximum, and calls that a raise', () => {
    const { t, raises, segment } = timeline(true);
    segment(4);
    segment(6);
    expect(t.snapshot().targetDurationS).toBe(6);
    segment(5.8);
    segment(4);
    expect(t.snapshot().targetDurationS).toBe(6);
    expect(raises).toHaveLength(1);
  });

  it('moves CAN-SKIP-UNTIL to six of the raised target durations', () => {
    const { t, segment } = timeline(true);
    expect(timeline(false).t.snapshot().canSkipUntilS).toBe(12);
    segment(4);
    expect(t.snapshot().canSkipUntilS).toBe(24);
  });
});

describe('target duration of a source keyed on the grid (the browser publisher)', () => {
  it('publishes from the first part with the configured target, and counts a later longer segment as a raise', () => {
    const { t, raises, addParts, complete, segment } = timeline(false);
    addParts(0.2);
    expect(t.ready).toBe(true);
    expect(t.snapshot().targetDurationS).toBe(2);
    addParts(0.2);
    complete(0.4);
    segment(2);
    expect(t.snapshot().targetDurationS).toBe(2);
    expect(raises).toEqual([]);
    segment(4);
    expect(t.snapshot().targetDurationS).toBe(4);
    expect(raises).toHaveLength(1);
  });
});

const ORIGIN_US = 1_000_000;
const FRAME_US = 1_000_000 / 30;
const AVCC = Uint8Array.of(1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1f, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80);

/** Wire messages of `seconds` of 30 fps video keyed every `gopS` s, with the clock an RTMP ingest sends (or the browser's). */
function gopMessages(seconds: number, gopS: number, encoderGop: boolean): WireMessage[] {
  const messages: WireMessage[] = [
    { type: 'clock', timestampUs: ORIGIN_US, wallClockMs: Date.UTC(2025, 0, 1), gridOriginUs: ORIGIN_US, ...(encoderGop && { encoderGop }) },
    { type: 'track', kind: 'video', trackId: 0, codec: 'avc1.42001f', description: AVCC, width: 1280, height: 720, framerate: 30, bitrate: 2_000_000, rendition: '720p' },
  ];
  for (let i = 0; i < seconds * 30; i++) {
    const keyframe = i % (gopS * 30) === 0;
    const data = new Uint8Array(keyframe ? 2000 : 400);
    data.set([0, 0, 0, 255, keyframe ? 0x65 : 0x41]);
    const chunk: ChunkMessage = { type: 'chunk', trackId: 0, keyframe, timestampUs: ORIGIN_US + Math.round(i * FRAME_US), durationUs: 0, data };
    messages.push(chunk);
  }
  return messages;
}

const origins = originsPerTest();

/** Pushes messages from `next` on until the first chunk at or after `untilUs` of media; returns where it stopped. */
function pushUntil(packager: StreamPackager, messages: WireMessage[], next: number, untilUs: number): number {
  while (next < messages.length) {
    const message = messages[next]!;
    if (message.type === 'chunk' && message.timestampUs - ORIGIN_US >= untilUs) break;
    packager.push(message);
    next++;
  }
  return next;
}

describe('through the real packager and the origin over HTTP', () => {
  it('an encoder keyed every 4 s on 2 s targets: 404 until the first segment closes, then every playlist says 4', async () => {
    const h = await origins.start();
    const packager = new StreamPackager({ streamName: 'enc', partTargetUs: PART_US, segmentTargetUs: 2_000_000 });
    h.origin.attach('enc', packager);
    const url = `${h.baseUrl}/live/enc/720p/media.m3u8`;
    const statuses: number[] = [];
    const targets: number[] = [];
    const messages = gopMessages(20, 4, true);
    let next = 0;
    for (let untilUs = 100_000; untilUs <= 20_000_000; untilUs += 100_000) {
      next = pushUntil(packager, messages, next, untilUs);
      const res = await fetch(url);
      statuses.push(res.status);
      const text = await res.text();
      if (res.status !== 200) continue;
      const playlist = HLS.parse(text);
      if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
      targets.push(playlist.targetDuration);
      // The segment in progress has parts and no EXTINF yet.
      for (const segment of playlist.segments.filter((s) => Number.isFinite(s.duration))) {
        expect(Math.round(segment.duration)).toBeLessThanOrEqual(playlist.targetDuration);
      }
    }
    // The first segment (keyframe to keyframe, 4 s) closes when the frame after 4 s arrives; until then nothing is served.
    const first200 = statuses.indexOf(200);
    expect(first200).toBeGreaterThanOrEqual(39);
    expect(statuses.slice(0, first200).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(first200).every((s) => s === 200)).toBe(true);
    expect(new Set(targets)).toEqual(new Set([4]));
    expect(h.origin.targetDurationRaises).toBe(0);
  });

  it('the same media from a publisher keyed on the grid is served from its first part (target 2, then raised: counted)', async () => {
    const h = await origins.start();
    const packager = new StreamPackager({ streamName: 'grid', partTargetUs: PART_US, segmentTargetUs: 2_000_000 });
    h.origin.attach('grid', packager);
    const url = `${h.baseUrl}/live/grid/720p/media.m3u8`;
    const targets: number[] = [];
    const messages = gopMessages(10, 4, false);
    let next = 0;
    for (let untilUs = 500_000; untilUs <= 10_000_000; untilUs += 500_000) {
      next = pushUntil(packager, messages, next, untilUs);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      const playlist = HLS.parse(await res.text());
      if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
      targets.push(playlist.targetDuration);
    }
    expect(targets[0]).toBe(2);
    expect(targets.at(-1)).toBe(4);
    expect(h.origin.targetDurationRaises).toBe(1);
  });
});

describe('swarmcast_target_duration_raises_total', () => {
  it('is a Prometheus counter of the origin\'s raises', async () => {
    let raises = 2;
    const { registry } = createMetrics({ targetDurationRaises: () => raises });
    expect(await registry.metrics()).toContain('# TYPE swarmcast_target_duration_raises_total counter');
    expect(await registry.metrics()).toMatch(/^swarmcast_target_duration_raises_total 2$/m);
    raises = 3;
    expect(await registry.metrics()).toMatch(/^swarmcast_target_duration_raises_total 3$/m);
  });
});
