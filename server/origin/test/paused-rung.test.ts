// A three-rung stream from the real packager whose top rung pauses and resumes: every playlist stays spec-valid and live.
import { beforeAll, describe, expect, it } from 'vitest';
import * as HLS from 'hls-parser';
import type { ChunkMessage, WireMessage } from '../../../shared/protocol/index.ts';
import { StreamPackager } from '../../packager/index.ts';
import { checkLivePlaylists, formatViolations, type PlaylistSnapshot } from '../../../e2e/conformance/checker.ts';
import { readMediaPlaylist, type MediaPlaylistModel } from '../../../e2e/conformance/media-playlist.ts';
import { originsPerTest } from './http-harness.ts';

beforeAll(() => HLS.setOptions({ strictMode: true }));

const origins = originsPerTest();
const ORIGIN_US = 1_000_000;
const FRAME_US = 1_000_000 / 30;
const AUDIO_PACKET_US = 20_000;
// A plausible avcC: version 1, Baseline level 3.1, 4-byte lengths, one SPS, one PPS.
const AVCC = Uint8Array.of(1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1f, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80);
const RUNGS = [
  { rendition: '720p', width: 1280, height: 720, bitrate: 2_500_000, frameBytes: 1000 },
  { rendition: '480p', width: 854, height: 480, bitrate: 1_000_000, frameBytes: 400 },
  { rendition: '240p', width: 426, height: 240, bitrate: 300_000, frameBytes: 120 },
];
const AUDIO_TRACK = 9;
const SECONDS = 15;
/** The top rung gets no video from 7 s to 11 s; its frames from 11 s are not keyframes (dropped) until the one at 12 s. */
const PAUSE = { fromUs: 7_000_000, toUs: 11_000_000 };
const RESUME_US = 12_000_000;
/**
 * Playlists are read from here on: hls-parser's strict mode takes "parts only in the last three target durations" as
 * "in the last three segments", which the short first segment contradicts until the segment after it is 6 s from the end.
 */
const READ_FROM_US = 6_800_000;

/** Wire messages in timestamp order: 30 fps on each rung (keyframes on the grid: 0.4 s, then every 2 s) and 20 ms Opus. */
function ladderMessages(): WireMessage[] {
  const head: WireMessage[] = [{ type: 'clock', timestampUs: ORIGIN_US, wallClockMs: Date.UTC(2025, 0, 1), gridOriginUs: ORIGIN_US }];
  RUNGS.forEach((rung, trackId) =>
    head.push({ type: 'track', kind: 'video', trackId, codec: 'avc1.42001f', description: AVCC, width: rung.width, height: rung.height, framerate: 30, bitrate: rung.bitrate, rendition: rung.rendition }),
  );
  head.push({ type: 'track', kind: 'audio', trackId: AUDIO_TRACK, codec: 'opus', sampleRate: 48_000, channels: 2, bitrate: 64_000 });
  const chunks: ChunkMessage[] = [];
  for (let i = 0; i < SECONDS * 30; i++) {
    const timeUs = Math.round(i * FRAME_US);
    const keyframe = i === 0 || i === 12 || i % 60 === 0;
    RUNGS.forEach((rung, trackId) => {
      if (trackId === 0 && timeUs >= PAUSE.fromUs && timeUs < PAUSE.toUs) return;
      const data = new Uint8Array(rung.frameBytes * (keyframe ? 5 : 1));
      data.set([0, 0, 0, data.byteLength - 4 > 255 ? 255 : data.byteLength - 4, keyframe ? 0x65 : 0x41]);
      chunks.push({ type: 'chunk', trackId, keyframe, timestampUs: ORIGIN_US + timeUs, durationUs: 0, data });
    });
  }
  for (let j = 0; j < (SECONDS * 1_000_000) / AUDIO_PACKET_US; j++) {
    chunks.push({ type: 'chunk', trackId: AUDIO_TRACK, keyframe: true, timestampUs: ORIGIN_US + j * AUDIO_PACKET_US, durationUs: AUDIO_PACKET_US, data: new Uint8Array(160) });
  }
  chunks.sort((a, b) => a.timestampUs - b.timestampUs);
  return [...head, ...chunks];
}

describe('a rung that pauses while the others go on', () => {
  it('keeps every media playlist spec-valid, live and reporting the other rungs, and the multivariant playlist listing all three', async () => {
    const h = await origins.start();
    const packager = new StreamPackager({ streamName: 'cam', partTargetUs: 200_000, segmentTargetUs: 2_000_000 });
    h.origin.attach('cam', packager);
    const url = (path: string): string => `${h.baseUrl}/live/cam/${path}`;
    const snapshots = new Map<string, PlaylistSnapshot[]>(RUNGS.map((r) => [r.rendition, []]));
    const multivariants: HLS.types.MasterPlaylist[] = [];
    const topAtPause: string[] = [];

    const sample = async (): Promise<void> => {
      for (const { rendition } of RUNGS) {
        const res = await fetch(url(`${rendition}/media.m3u8`));
        expect(res.status).toBe(200);
        snapshots.get(rendition)!.push({ playlist: readMediaPlaylist(await res.text()) });
      }
      const multivariant = HLS.parse(await (await fetch(url('index.m3u8'))).text());
      if (!multivariant.isMasterPlaylist) throw new Error('expected a multivariant playlist');
      multivariants.push(multivariant);
    };

    // Feed the stream in 100 ms steps of media time, reading every playlist after each.
    const messages = ladderMessages();
    let next = 0;
    for (let untilUs = 1_000_000; untilUs <= SECONDS * 1_000_000; untilUs += 100_000) {
      while (next < messages.length) {
        const message = messages[next]!;
        if (message.type === 'chunk' && message.timestampUs - ORIGIN_US >= untilUs) break;
        packager.push(message);
        next++;
      }
      if (untilUs < READ_FROM_US) continue;
      await sample();
      if (untilUs === RESUME_US - 100_000) topAtPause.push(...snapshots.get('720p')!.at(-1)!.playlist.segments.flatMap((s) => s.parts.map((p) => (p.gap ? 'G' : 'M'))));
    }

    for (const { rendition } of RUNGS) {
      const others = RUNGS.filter((r) => r.rendition !== rendition).map((r) => `../${r.rendition}/media.m3u8`);
      const report = checkLivePlaylists(snapshots.get(rendition)!, { otherRenditions: others });
      expect(report.errors, `${rendition}:\n${formatViolations(report.errors)}`).toEqual([]);
      // Every playlist carries a RENDITION-REPORT for each of the two other rungs.
      for (const snapshot of snapshots.get(rendition)!) expect(snapshot.playlist.renditionReports.map((r) => r.uri).sort()).toEqual(others.sort());
    }
    // The top rung's playlist kept up with the others through the pause: within a part or two of the 480p one's end.
    const endS = (playlist: MediaPlaylistModel): number =>
      playlist.segments.reduce((sum, s) => sum + (s.durationS ?? s.parts.reduce((partSum, p) => partSum + p.durationS, 0)), 0);
    snapshots.get('720p')!.forEach((top, i) => {
      const middle = snapshots.get('480p')![i]!.playlist;
      expect(top.playlist.mediaSequence).toBe(middle.mediaSequence);
      // 3 part targets before the top rung counts as paused, and the part the 480p one may be ahead by.
      expect(endS(middle) - endS(top.playlist)).toBeLessThanOrEqual(0.8);
    });
    // Just before it resumed, the top rung's playlist ended with GAP parts after media.
    expect(topAtPause.join('')).toMatch(/^M+G+$/);
    // After the resume, its playlist ends with media again.
    const last = snapshots.get('720p')!.at(-1)!.playlist;
    expect(last.segments.at(-1)!.parts.every((p) => !p.gap)).toBe(true);
    // The multivariant playlist listed all three rungs all along, the paused one included.
    for (const multivariant of multivariants) expect(multivariant.variants.map((v) => v.uri)).toEqual(['480p/media.m3u8', '720p/media.m3u8', '240p/media.m3u8']);
    const rates = multivariants.at(-1)!.variants.map((v) => v.averageBandwidth!);
    expect(rates[1]).toBeGreaterThan(rates[0]!);
    expect(rates[0]).toBeGreaterThan(rates[2]!);
  });
});
