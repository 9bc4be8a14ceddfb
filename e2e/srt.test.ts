// SRT ingest end to end: ffmpeg publishes MPEG-TS over SRT (libx264 with B-frames + AAC, libx265 + AAC) to the one SRT
// port, routed by streamid with the publish key; ffprobe and ffmpeg read the HLS, Chromium plays the H.264 stream and
// WebKitGTK the H.265 one (Debian's Chromium has no HEVC decoder: MediaSource.isTypeSupported says false). A second or
// restarted publisher takes the stream over; a browser broadcaster's stream is not taken.
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type MatrixBrowser } from './support/browser-matrix.ts';
import { launchChromium } from './support/browser.ts';
import { offerPeer } from './support/datachannel-peer.ts';
import { exitOf, killed, publishTestSignal } from './support/ffmpeg-hls.ts';
import { lastSegmentOf, mediaPlaylistUrl, nextSegment, playlistAfterDiscontinuity, playlistWithSegments, segmentMsnsOf, segmentsOf } from './support/live-hls.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { watchStreamFor } from './support/pages.ts';
import { pollUntil } from './support/poll.ts';
import { startServer, type RunningServer } from './support/server.ts';

const run = promisify(execFile);
const KEY = 'srt-e2e-publish-key-0123';
let server: RunningServer;
let srtBase: string;
let browser: Browser;
const publishers: ChildProcess[] = [];
let dir: string;

const VIDEO: Record<'h264' | 'h265', string[]> = {
  // B-frames on (x264's default), so frames arrive out of presentation order.
  h264: ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p'],
  // Closed GOPs: x265's default open GOP puts each later keyframe's decode time before the segment boundary (README).
  h265: ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'keyint=60:open-gop=0:log-level=error', '-pix_fmt', 'yuv420p'],
};

function publish(stream: string, key: string, codec: 'h264' | 'h265', extra: string[] = [], url = `${srtBase}?streamid=publish:${stream}:${key}`): ChildProcess {
  const child = publishTestSignal('640x360', [...VIDEO[codec], '-c:a', 'aac', ...extra], ['-f', 'mpegts', url]);
  publishers.push(child);
  return child;
}

/** A playlist that went on across a takeover: live (no ENDLIST), its media sequence numbers consecutive through the discontinuity. */
function expectContinued(playlist: string): void {
  expect(playlist).not.toContain('#EXT-X-ENDLIST');
  const msns = segmentMsnsOf(playlist);
  expect(msns).toEqual(msns.map((_, i) => msns[0]! + i));
}

async function initAndSegment(playlistUrl: string, index: number): Promise<string> {
  const playlist = await playlistWithSegments(playlistUrl, index + 1, 30_000);
  const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)![1]!;
  const segment = segmentsOf(playlist)[index]!;
  const bytes = await Promise.all([init, segment].map(async (name) => Buffer.from(await (await fetch(new URL(name, playlistUrl))).arrayBuffer())));
  const file = join(dir, `${segment.replaceAll('/', '_')}.mp4`);
  await writeFile(file, Buffer.concat(bytes));
  return file;
}

async function probeStreams(file: string): Promise<{ codec_name: string; has_b_frames?: number; width?: number; height?: number }[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,has_b_frames,width,height', '-of', 'json', file]);
  return (JSON.parse(stdout) as { streams: { codec_name: string; has_b_frames?: number; width?: number; height?: number }[] }).streams;
}

beforeAll(async () => {
  server = await startServer({ PUBLISH_KEY: KEY, SRT_PORT: '0' });
  if (!server.srtBase) throw new Error(`the server printed no SRT address: ${server.logLines.join('\n')}`);
  srtBase = server.srtBase;
  browser = await launchChromium();
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-srt-'));
}, 120_000);

afterAll(async () => {
  await Promise.all(publishers.map(killed));
  await browser?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('SRT ingest', () => {
  it('refuses a wrong key before the handshake completes (ffmpeg fails) and nothing goes live', async () => {
    const child = publish('nokey', 'not-the-key-at-all', 'h264', ['-t', '5']);
    expect(await exitOf(child)).not.toBe(0);
    expect(await fetch(`${server.baseUrl}/live/nokey/index.m3u8`).then((r) => r.status)).toBe(404);
    await server.waitForLog(/srt\.refused stream=nokey .*code=1401/);
  }, 60_000);

  it('ffmpeg publishes libx264 (B-frames) + AAC: avc1 + mp4a.40.2 in the multivariant, a segment decodes with reordered frames', async () => {
    publish('cam', KEY, 'h264');
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'cam', 30_000);
    const multivariant = await fetch(`${server.baseUrl}/live/cam/index.m3u8`).then((r) => r.text());
    expect(multivariant).toMatch(/CODECS="avc1\.64[0-9a-f]{4},mp4a\.40\.2",RESOLUTION=640x360/);
    const playlist = await playlistWithSegments(playlistUrl, 2, 30_000);
    expect(playlist).toMatch(/#EXT-X-TARGETDURATION:2\n/);
    const file = await initAndSegment(playlistUrl, 1);
    const streams = await probeStreams(file);
    expect(streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(streams.find((s) => s.codec_name === 'h264')!.has_b_frames).toBeGreaterThan(0);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]);
    // A 2 s segment at 30 fps, cut on the source's keyframes (every 60 frames).
    expect(Number(stdout.trim())).toBe(60);
    await run('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
  }, 90_000);

  it('plays in Chromium (hls.js, the watch page) with video and audio advancing', async () => {
    const stretch = await watchStreamFor(browser, server.baseUrl, 'cam', 4);
    expect(stretch.last.decodedFrames).toBeGreaterThan(stretch.first.decodedFrames + 30);
    expect(stretch.last.audioDecodedBytes ?? 0).toBeGreaterThan(stretch.first.audioDecodedBytes ?? 0);
  }, 90_000);

  it('a second publisher with the key takes over a live name: the first ffmpeg is disconnected, the stream goes on after a discontinuity', async () => {
    const [first, ...others] = publishers.filter((child) => child.exitCode === null && child.signalCode === null);
    expect([first, others]).toEqual([expect.anything(), []]);
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'cam');
    const before = await lastSegmentOf(playlistUrl);
    const second = publish('cam', KEY, 'h264');
    const line = await server.waitForLog(/publish\.taken-over stream=cam /, 20_000);
    expect(line).toMatch(/session=[0-9a-f]{16} by=[0-9a-f]{16} .*path=srt/);
    await server.waitForLog(/publish\.ended stream=cam .*reason=disconnected detail="replaced by a new publisher"/);
    // The listener closed the first caller's connection: ffmpeg fails on its next write.
    expect(await exitOf(first!)).not.toBe(0);
    expect(second.exitCode).toBeNull();
    expect(server.logLines.some((l) => /srt\.refused stream=cam/.test(l))).toBe(false);
    expectContinued(await playlistAfterDiscontinuity(playlistUrl, before!));
    await nextSegment(playlistUrl, 'a new segment of the second publisher');
  }, 60_000);

  it('an ffmpeg killed (SIGKILL) and restarted at once on the same streamid is accepted at once, before the old connection times out, and continues the stream', async () => {
    const [running, ...others] = publishers.filter((child) => child.exitCode === null && child.signalCode === null);
    expect([running, others]).toEqual([expect.anything(), []]);
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'cam');
    const takeoversBefore = server.logLines.filter((l) => /publish\.taken-over stream=cam /.test(l)).length;
    const killedSession = server.logLines.findLast((l) => /publish\.accepted stream=cam /.test(l))?.match(/ session=([0-9a-f]{16})/)?.[1];
    expect(killedSession).toBeDefined();
    const before = await lastSegmentOf(playlistUrl);
    await killed(running!);
    publish('cam', KEY, 'h264');
    // Taken over: the killed encoder's session was still live (SRT notices a silent peer only after its idle timeout), and was not in the way.
    await pollUntil(async () => server.logLines.filter((l) => /publish\.taken-over stream=cam /.test(l)).length, (n) => n === takeoversBefore + 1, 20_000, 'the restarted encoder taking over');
    expect(server.logLines.findLast((l) => /publish\.taken-over stream=cam /.test(l))).toContain(` session=${killedSession} `);
    expect(server.logLines.some((l) => /srt\.refused stream=cam/.test(l))).toBe(false);
    // The killed encoder's session ended by the takeover, not by a timeout of its own.
    await server.waitForLog(new RegExp(`publish\\.ended stream=cam session=${killedSession} reason=disconnected detail="replaced by a new publisher"`));
    expectContinued(await playlistAfterDiscontinuity(playlistUrl, before!));
    await nextSegment(playlistUrl, 'a new segment of the restarted publisher');
  }, 60_000);

  describe('a browser broadcaster\'s stream', () => {
    let studio: NodePublisher | undefined;
    afterAll(async () => studio?.stop());

    it('is not taken over by an SRT encoder (1409), and a browser publish onto the SRT stream is refused with 409', async () => {
      studio = await startNodePublisher({ baseUrl: server.baseUrl, stream: 'studio', publishKey: KEY, width: 640, height: 360, rendition: '360p', videoBitrate: 800_000 });
      const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'studio', 30_000);
      const encoder = publish('studio', KEY, 'h264', ['-t', '5']);
      expect(await exitOf(encoder)).not.toBe(0);
      await server.waitForLog(/srt\.refused stream=studio .*code=1409/);
      await nextSegment(playlistUrl, 'a new segment of the browser-path publisher');

      const tab = await offerPeer('second-tab');
      try {
        const res = await fetch(`${server.baseUrl}/api/publish/cam`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${KEY}` }, body: tab.offerSdp });
        expect(res.status).toBe(409);
      } finally {
        tab.close();
      }
      await nextSegment(await mediaPlaylistUrl(server.baseUrl, 'cam'), 'a new segment of the SRT publisher');
    }, 90_000);
  });

  it('the broadcaster page shows the SRT address with the stream key, hidden, and ffmpeg publishes with exactly it', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.baseUrl}/broadcast?stream=frompage&key=${KEY}`);
      await page.waitForSelector('#srt-fields:not([hidden])', { timeout: 10_000 });
      const shown = await page.inputValue('#srt-url');
      expect(shown).toBe(`${srtBase}?streamid=publish:frompage:${KEY}`);
      expect(await page.getAttribute('#srt-url', 'type')).toBe('password');
      const child = publish('frompage', KEY, 'h264', [], shown);
      try {
        await mediaPlaylistUrl(server.baseUrl, 'frompage', 30_000);
      } finally {
        child.kill('SIGKILL');
      }
    } finally {
      await page.close();
    }
  }, 90_000);

  describe('H.265', () => {
    let webkit: MatrixBrowser | undefined;
    afterAll(async () => webkit?.close());

    it('ffmpeg publishes libx265 + AAC: hvc1 CODECS from the parameter sets, ffprobe reads HEVC, ffmpeg plays the HLS', async () => {
      publish('hevc', KEY, 'h265');
      const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'hevc', 30_000);
      const multivariant = await fetch(`${server.baseUrl}/live/hevc/index.m3u8`).then((r) => r.text());
      expect(multivariant).toMatch(/CODECS="hvc1\.1\.6\.L\d+\.[0-9A-F.]+,mp4a\.40\.2",RESOLUTION=640x360/);
      const file = await initAndSegment(playlistUrl, 1);
      const streams = await probeStreams(file);
      expect(streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'hevc']);
      expect(streams.find((s) => s.codec_name === 'hevc')).toMatchObject({ width: 640, height: 360 });
      // ffmpeg's own HLS demuxer plays the live multivariant: 3 s of frames decoded without an error.
      const { stdout } = await run('ffmpeg', ['-v', 'error', '-xerror', '-i', `${server.baseUrl}/live/hevc/index.m3u8`, '-t', '3', '-map', '0:v', '-f', 'framemd5', '-']);
      expect(stdout.split('\n').filter((line) => /^0,/.test(line)).length).toBeGreaterThanOrEqual(85);
    }, 90_000);

    it('plays in WebKitGTK (hls.js over its GStreamer HEVC decoder)', async () => {
      webkit = await launchBrowser('webkit');
      const page = await webkit.newPage();
      await page.goto(`${server.baseUrl}/watch?stream=hevc&abr=hls.js`);
      const started = await pollUntil(
        () => page.evaluate<{ state: string; currentTime: number }>('(() => { const s = window.swarmcast.stats(); return { state: s.state, currentTime: s.currentTime }; })()'),
        (s) => s.state === 'playing' || s.state === 'error',
        45_000,
        'the HEVC stream playing in WebKit',
      );
      expect(started.state).toBe('playing');
      await pollUntil(
        () => page.evaluate<number>('window.swarmcast.stats().currentTime'),
        (t) => t > started.currentTime + 2,
        20_000,
        'WebKit playback advancing by 2 s',
      );
    }, 120_000);
  });
});
