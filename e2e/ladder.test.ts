// The default ladder end to end in real Chromium: one test-source broadcast becomes a multivariant playlist of three
// variants (720p, 480p, 240p), each of which ffprobe decodes at its own resolution, with segments cut at the same times.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multivariantPath } from '../shared/playback-path.ts';
import { launchChromium } from './support/browser.ts';
import { pollUntil } from './support/poll.ts';
import { startServer, type RunningServer } from './support/server.ts';

const run = promisify(execFile);
// hls-parser complains about parts it keeps longer than the spec asks of a server; the conformance suite checks those.
HLS.setOptions({ silent: true });
const STREAM = 'ladder';
const RUNGS = [
  { rendition: '720p', width: 1280, height: 720 },
  { rendition: '480p', width: 854, height: 480 },
  { rendition: '240p', width: 426, height: 240 },
];

let server: RunningServer;
let browser: Browser;
let page: Page;
let tmp: string;
let multivariantUrl: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'swarmcast-ladder-'));
  server = await startServer();
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.baseUrl}/broadcast?stream=${STREAM}&source=test&autostart=1`);
  await page.waitForSelector('body[data-state="live"]', { timeout: 30_000 });
  multivariantUrl = `${server.baseUrl}${multivariantPath(STREAM)}`;
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function multivariant(): Promise<HLS.types.MasterPlaylist | null> {
  const res = await fetch(multivariantUrl);
  return res.ok ? (HLS.parse(await res.text()) as HLS.types.MasterPlaylist) : null;
}

/** The media playlist of a variant once it lists at least `segments` complete segments of about 2 s. */
async function mediaPlaylist(uri: string, segments: number): Promise<{ url: URL; media: HLS.types.MediaPlaylist }> {
  const url = new URL(uri, multivariantUrl);
  const media = await pollUntil(
    async () => HLS.parse(await (await fetch(url)).text()) as HLS.types.MediaPlaylist,
    (m) => m.segments.filter((s) => s.duration > 1.9).length >= segments,
    20_000,
    `${segments} whole segments in ${uri}`,
  );
  return { url, media };
}

describe('the default ladder from Chromium', () => {
  it('lists three variants, 720p, 480p and 240p H.264 + audio, each decoding at its resolution', async () => {
    const playlist = await pollUntil(multivariant, (m) => (m?.variants.length ?? 0) >= RUNGS.length, 20_000, 'three variants');
    const variants = playlist!.variants;
    expect(variants.map((v) => v.uri.split('/')[0]).sort()).toEqual(RUNGS.map((r) => r.rendition).sort());
    // The same whole segment (by media sequence number) of every variant: the same frames at three sizes.
    let msn: number | undefined;
    const frameCounts: number[] = [];
    for (const { rendition, width, height } of RUNGS) {
      const variant = variants.find((v) => v.uri.startsWith(`${rendition}/`))!;
      expect(variant.resolution).toEqual({ width, height });
      expect(variant.codecs).toMatch(/^avc1\.42[0-9a-f]{4},(opus|mp4a\.40\.2)$/);
      const { url, media } = await mediaPlaylist(variant.uri, 1);
      const base = media.mediaSequenceBase ?? 0;
      msn ??= base + media.segments.findIndex((s) => s.duration > 1.9);
      const segment = media.segments[msn - base];
      expect(segment?.uri, `${rendition} segment ${msn}`).toBeDefined();
      const init = await (await fetch(new URL(segment!.map!.uri, url))).arrayBuffer();
      const body = await (await fetch(new URL(segment!.uri, url))).arrayBuffer();
      const file = join(tmp, `${rendition}.mp4`);
      await writeFile(file, Buffer.concat([Buffer.from(init), Buffer.from(body)]));
      const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-of', 'json', file]);
      const streams = (JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; width?: number; height?: number; nb_read_frames?: string }[] }).streams;
      const video = streams.find((s) => s.codec_type === 'video');
      expect(video, rendition).toMatchObject({ codec_name: 'h264', width, height });
      expect(streams.some((s) => s.codec_type === 'audio')).toBe(true);
      frameCounts.push(Number(video?.nb_read_frames));
    }
    // 2 s at 30 fps, less what a loaded machine dropped (dropped for every rung alike).
    expect(frameCounts[0]).toBeGreaterThan(30);
    expect(frameCounts[0]).toBeLessThanOrEqual(63);
    expect(new Set(frameCounts).size, `frames per rung: ${frameCounts.join(', ')}`).toBe(1);
  });

  it('cuts every variant at the same times: same media sequence numbers, same segment start dates', async () => {
    const playlist = (await multivariant())!;
    const segmentsOf = async (uri: string): Promise<Map<number, number>> => {
      const { media } = await mediaPlaylist(uri, 2);
      const base = media.mediaSequenceBase ?? 0;
      // Start times from the program date times the playlist carries, carried forward by the segment durations.
      let startMs = Number.NaN;
      return new Map(media.segments.map((s, i) => {
        startMs = s.programDateTime?.getTime() ?? startMs;
        const entry: [number, number] = [base + i, Math.round(startMs)];
        startMs += s.duration * 1000;
        return entry;
      }));
    };
    const [top, ...others] = await Promise.all(playlist.variants.map((v) => segmentsOf(v.uri)));
    for (const other of others) {
      const shared = [...other.keys()].filter((msn) => top!.has(msn));
      expect(shared.length).toBeGreaterThanOrEqual(2);
      for (const msn of shared) {
        expect(Number.isFinite(other.get(msn)), `segment ${msn} has a program date time`).toBe(true);
        expect(other.get(msn), `segment ${msn}`).toBe(top!.get(msn));
      }
    }
  });

  it("reports every rung encoding on the broadcaster's page", async () => {
    const stats = await page.evaluate(() => window.swarmcast.stats());
    expect(stats.rungs.map((r) => [r.rendition, r.state, r.width, r.height])).toEqual(RUNGS.map((r) => [r.rendition, 'encoding', r.width, r.height]));
    for (const rung of stats.rungs) {
      expect(rung.framesEncoded).toBeGreaterThan(60);
      expect(rung.sendKbps).toBeGreaterThan(0);
    }
  });

  it("states each variant's AVERAGE-BANDWIDTH within 25 % of the bit rate ffprobe measures over the listed segments", async () => {
    const listed = await pollUntil(multivariant, (m) => (m?.variants.length ?? 0) >= RUNGS.length, 20_000, 'three variants');
    for (const { rendition } of RUNGS) {
      const uri = listed!.variants.find((v) => v.uri.startsWith(`${rendition}/`))!.uri;
      const { url, media } = await mediaPlaylist(uri, 3);
      // Read right after the media playlist, so both describe (nearly) the same window of complete segments.
      const stated = (await multivariant())!.variants.find((v) => v.uri === uri)!;
      const segments = media.segments.filter((s) => s.duration > 0);
      const bodies = await Promise.all(
        [segments[0]!.map!.uri, ...segments.map((s) => s.uri)].map(async (u) => Buffer.from(await (await fetch(new URL(u, url))).arrayBuffer())),
      );
      const file = join(tmp, `${rendition}-window.mp4`);
      const bytes = Buffer.concat(bodies);
      await writeFile(file, bytes);
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', file]);
      const durationS = Number((JSON.parse(stdout) as { format: { duration: string } }).format.duration);
      const measuredBps = (bytes.byteLength * 8) / durationS;
      expect(stated.averageBandwidth, `${rendition} AVERAGE-BANDWIDTH`).toBeGreaterThan(0);
      expect(stated.bandwidth).toBeGreaterThanOrEqual(stated.averageBandwidth!);
      expect(Math.abs(measuredBps - stated.averageBandwidth!) / stated.averageBandwidth!, `${rendition}: measured ${Math.round(measuredBps)} b/s over ${durationS} s, stated ${stated.averageBandwidth}`).toBeLessThanOrEqual(0.25);
    }
  });
});
