// RTMP ingest end to end: ffmpeg (libx264 with B-frames + AAC) publishes over RTMP, ffprobe decodes the HLS, Chromium plays it; keys, garbage, takeover.
import { execFile, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { checkLivePlaylists, formatViolations } from './conformance/checker.ts';
import { walkLivePlaylist } from './conformance/live-walker.ts';
import { launchChromium } from './support/browser.ts';
import { exitOf, H264_AAC, publishTestSignal } from './support/ffmpeg-hls.ts';
import { lastSegmentOf, mediaPlaylistUrl, nextSegment, playlistAfterDiscontinuity, playlistWithSegments, segmentMsnsOf, segmentsOf } from './support/live-hls.ts';
import { startNodePublisher } from './support/node-publisher.ts';
import { watchStreamFor } from './support/pages.ts';
import { pollUntil } from './support/poll.ts';
import { startServer, type RunningServer } from './support/server.ts';

const run = promisify(execFile);
const KEY = 'rtmp-e2e-publish-key-0123';
let server: RunningServer;
let rtmpBase: string;
let browser: Browser;
let publisher: ChildProcess;
let dir: string;
/** A connection that stopped half way through the handshake and says nothing more: closed when the server drops it. */
let silent: Promise<void> | undefined;

/**
 * `target`: the stream name and query after `/live/`, or ffmpeg's RTMP options and the server URL (OBS's form).
 * B-frames on (x264's default 3, with pyramid), so frames arrive out of presentation order; veryfast keeps them and
 * encodes 720p30 in real time on a loaded 2-core machine, which the default preset does not (the viewer would starve).
 */
function publish(stream: string, query: string, extra: string[] = [], target: string[] = [`${rtmpBase}/live/${stream}${query}`]): ChildProcess {
  return publishTestSignal('1280x720', [...H264_AAC, ...extra], ['-f', 'flv', ...target]);
}

/** Opens a TCP connection to the RTMP port, writes `bytes`, and resolves when the server closes it. */
function sendAndWaitClose(bytes: Uint8Array, endAfterWrite = false): Promise<void> {
  const port = Number(new URL(rtmpBase.replace('rtmp:', 'http:')).port);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      if (endAfterWrite) socket.end();
    });
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    setTimeout(() => reject(new Error('the server kept a garbage connection open')), 15_000).unref();
  });
}

/** A valid C0+C1+C2 followed by `chunks`: the handshake passes, the chunk stream is what is tested. */
function afterHandshake(chunks: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + 1536 * 2 + chunks.byteLength);
  out[0] = 3;
  out.set(chunks, 1 + 1536 * 2);
  return out;
}

beforeAll(async () => {
  server = await startServer({ PUBLISH_KEY: KEY });
  if (!server.rtmpBase) throw new Error('the server printed no RTMP address');
  rtmpBase = server.rtmpBase;
  browser = await launchChromium();
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-rtmp-'));
}, 60_000);

afterAll(async () => {
  publisher?.kill('SIGKILL');
  await browser?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('RTMP ingest', () => {
  it('refuses a publisher without the key and one with a wrong key (NetStream.Publish.Unauthorized), and nothing goes live', async () => {
    for (const query of ['', '?key=not-the-key-at-all']) {
      const child = publish('nokey', query, ['-t', '5']);
      let stderr = '';
      child.stderr!.on('data', (text: Buffer) => (stderr += text.toString()));
      expect(await exitOf(child)).not.toBe(0);
      expect(stderr).toMatch(/Unauthorized|Server error/);
    }
    const status = await fetch(`${server.baseUrl}/live/nokey/index.m3u8`).then((r) => r.status);
    expect(status).toBe(404);
    await server.waitForLog(/publish\.unauthorized stream=nokey reason=missing-key .*path=rtmp/);
    await server.waitForLog(/publish\.unauthorized stream=nokey reason=wrong-key .*path=rtmp/);
  }, 60_000);

  it('ffmpeg publishes libx264 (B-frames) + AAC: the HLS has avc1 + mp4a.40.2 and a segment decodes with reordered frames', async () => {
    publisher = publish('cam', `?key=${KEY}`);
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'cam', 30_000);
    const multivariant = await fetch(`${server.baseUrl}/live/cam/index.m3u8`).then((r) => r.text());
    expect(multivariant).toMatch(/CODECS="avc1\.64[0-9a-f]{4},mp4a\.40\.2",RESOLUTION=1280x720/);
    expect(playlistUrl).toContain('/720p/');
    const playlist = await playlistWithSegments(playlistUrl, 2, 30_000);
    expect(playlist).toMatch(/#EXT-X-TARGETDURATION:2\n/);
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)![1]!;
    const segment = segmentsOf(playlist)[1]!;
    const [initBytes, segmentBytes] = await Promise.all(
      [init, segment].map(async (name) => new Uint8Array(await (await fetch(new URL(name, playlistUrl))).arrayBuffer())),
    );
    const file = join(dir, 'segment.mp4');
    await writeFile(file, Buffer.concat([initBytes!, segmentBytes!]));
    const streams = JSON.parse((await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,has_b_frames,width,height,sample_rate', '-of', 'json', file])).stdout) as {
      streams: { codec_name: string; has_b_frames?: number; width?: number; sample_rate?: string }[];
    };
    expect(streams.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(streams.streams.find((s) => s.codec_name === 'h264')!.has_b_frames).toBeGreaterThan(0);
    const packets = (await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts,dts,flags', '-of', 'csv=p=0', file])).stdout
      .trim()
      .split('\n')
      .map((line) => line.split(',').map(Number));
    expect(packets.length).toBeGreaterThanOrEqual(55);
    const dts = packets.map((p) => p[1]!);
    const pts = packets.map((p) => p[0]!);
    // Decode order is monotonic; presentation order is not (B-frames), yet every frame is presented once, 1/30 s apart.
    expect(dts.every((d, i) => i === 0 || d > dts[i - 1]!)).toBe(true);
    expect(pts.some((p, i) => i > 0 && p < pts[i - 1]!)).toBe(true);
    const sorted = [...pts].sort((a, b) => a - b);
    const gaps = sorted.slice(1).map((p, i) => p - sorted[i]!);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThan(Math.max(...gaps) * 0.1);
    // Every frame decodes, and the audio too.
    await run('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
  }, 90_000);

  it('plays in Chromium (hls.js, the watch page) with video and audio advancing', async () => {
    const stretch = await watchStreamFor(browser, server.baseUrl, 'cam', 4);
    // Media advanced 4 s in real time (watchFor); frames were decoded all along (a loaded 2-core machine drops some).
    expect(stretch.last.decodedFrames).toBeGreaterThan(stretch.first.decodedFrames + 30);
    // Chromium counts decoded audio bytes: they grew over the stretch, so the AAC track is being decoded.
    expect(stretch.last.audioDecodedBytes ?? 0).toBeGreaterThan(stretch.first.audioDecodedBytes ?? 0);
  }, 90_000);

  it('follows the LL-HLS rules the conformance checker knows (blocking reloads for 6 s, every snapshot checked)', async () => {
    const walk = await walkLivePlaylist(new URL(await mediaPlaylistUrl(server.baseUrl, 'cam')), 6_000);
    expect(walk.snapshots.length).toBeGreaterThan(20);
    expect(formatViolations(checkLivePlaylists(walk.snapshots).errors)).toBe('');
  }, 30_000);

  it('drops garbage connections with a log line while the live stream goes on', async () => {
    const random = new Uint8Array(4096).map(() => Math.floor(Math.random() * 256));
    random[0] = 0x42; // Not version 3.
    await sendAndWaitClose(random);
    await server.waitForLog(/rtmp\.dropped .*code=bad-handshake/);
    // A truncated handshake: the client gives up half way, or goes silent (dropped at the 10 s handshake timeout).
    await sendAndWaitClose(Uint8Array.of(3, ...new Uint8Array(700)), true);
    silent = sendAndWaitClose(Uint8Array.of(3, ...new Uint8Array(700)));
    // Set Chunk Size to 2^31 - 1.
    await sendAndWaitClose(afterHandshake(Uint8Array.of(0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff)));
    await server.waitForLog(/rtmp\.dropped .*code=chunk-size/);
    // A 16 MiB message (over the 8 MiB limit).
    await sendAndWaitClose(afterHandshake(Uint8Array.of(0x03, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0)));
    await server.waitForLog(/rtmp\.dropped .*code=message-too-large/);
    // The publisher is unaffected: its playlist keeps growing.
    await nextSegment(await mediaPlaylistUrl(server.baseUrl, 'cam'), 'a new segment');
    expect((await fetch(`${server.baseUrl}/healthz`).then((r) => r.json())) as { status: string }).toMatchObject({ status: 'ok' });
  }, 60_000);

  it('a second publisher with the key takes over a live name: the first ffmpeg is disconnected, the stream goes on after a discontinuity', async () => {
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'cam');
    const before = await lastSegmentOf(playlistUrl);
    const first = publisher;
    publisher = publish('cam', `?key=${KEY}`);
    const line = await server.waitForLog(/publish\.taken-over stream=cam /, 20_000);
    expect(line).toMatch(/session=[0-9a-f]{16} by=[0-9a-f]{16} .*path=rtmp/);
    await server.waitForLog(/publish\.ended stream=cam .*reason=disconnected detail="replaced by a new publisher"/);
    // Its socket was closed: ffmpeg fails on its next write.
    expect(await exitOf(first)).not.toBe(0);
    expect(publisher.exitCode).toBeNull();
    const playlist = await playlistAfterDiscontinuity(playlistUrl, before!);
    expect(playlist).not.toContain('#EXT-X-ENDLIST');
    const msns = segmentMsnsOf(playlist);
    expect(msns).toEqual(msns.map((_, i) => msns[0]! + i));
    await nextSegment(playlistUrl, 'a new segment of the second publisher');
  }, 60_000);

  it("a browser broadcaster's stream is not taken over by an RTMP encoder (NetStream.Publish.BadName)", async () => {
    const studio = await startNodePublisher({ baseUrl: server.baseUrl, stream: 'studio', publishKey: KEY, width: 640, height: 360, rendition: '360p', videoBitrate: 800_000 });
    try {
      const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'studio', 30_000);
      const child = publish('studio', `?key=${KEY}`, ['-t', '5']);
      let stderr = '';
      child.stderr!.on('data', (text: Buffer) => (stderr += text.toString()));
      expect(await exitOf(child)).not.toBe(0);
      expect(stderr).toMatch(/BadName|Server error/);
      await server.waitForLog(/publish\.refused stream=studio reason=stream-busy .*path=rtmp/);
      await nextSegment(playlistUrl, 'a new segment of the browser-path publisher');
    } finally {
      await studio.stop();
    }
  }, 60_000);

  it('killing ffmpeg ends the stream once the reconnect grace period (PUBLISH_GRACE_MS, 10 s) has passed: EXT-X-ENDLIST', async () => {
    publisher.kill('SIGKILL');
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'cam');
    await pollUntil(() => fetch(playlistUrl).then((r) => r.text()), (text) => text.includes('#EXT-X-ENDLIST'), 25_000, 'EXT-X-ENDLIST');
    await server.waitForLog(/publish\.ended stream=cam .*reason=disconnected(?! detail="replaced)/);
  }, 30_000);

  it('takes the key as OBS sends it (server rtmp://HOST/live, stream key NAME?key=KEY) and in the server URL (live?key=KEY)', async () => {
    const forms = [
      ['obs', ['-rtmp_app', 'live', '-rtmp_playpath', `obs?key=${KEY}`, rtmpBase]],
      ['appkey', ['-rtmp_app', `live?key=${KEY}`, '-rtmp_playpath', 'appkey', rtmpBase]],
    ] as const;
    for (const [stream, target] of forms) {
      const child = publish(stream, '', [], [...target]);
      try {
        await mediaPlaylistUrl(server.baseUrl, stream, 30_000);
      } finally {
        child.kill('SIGKILL');
      }
    }
  }, 90_000);

  it("the broadcaster page shows the RTMP server and stream key for OBS, and ffmpeg publishes with exactly what it shows", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.baseUrl}/broadcast?stream=frompage&key=${KEY}`);
      await page.waitForSelector('#encoder-panel:not([hidden])', { timeout: 10_000 });
      const shown = { server: await page.inputValue('#rtmp-server'), key: await page.inputValue('#rtmp-key') };
      expect(shown).toEqual({ server: `${rtmpBase}/live`, key: `frompage?key=${KEY}` });
      expect(await page.getAttribute('#rtmp-key', 'type')).toBe('password');
      const serverUrl = new URL(shown.server.replace(/^rtmp:/, 'http:'));
      const child = publish('frompage', '', [], ['-rtmp_app', serverUrl.pathname.slice(1), '-rtmp_playpath', shown.key, `rtmp://${serverUrl.host}`]);
      try {
        await mediaPlaylistUrl(server.baseUrl, 'frompage', 30_000);
      } finally {
        child.kill('SIGKILL');
      }
      // Another key typed into the page's form gives another stream key.
      await page.fill('#key', 'another-key-0123456789');
      expect(await page.inputValue('#rtmp-key')).toBe('frompage?key=another-key-0123456789');
    } finally {
      await page.close();
    }
  }, 90_000);

  it('an encoder keyed every 4 s (twice the segment target) gets 4 s segments, an honest EXT-X-TARGETDURATION and one warning', async () => {
    const child = publish('longgop', `?key=${KEY}`, ['-g', '120']);
    try {
      const playlistUrl = await mediaPlaylistUrl(server.baseUrl, 'longgop', 30_000);
      const playlist = await playlistWithSegments(playlistUrl, 1, 30_000);
      const durations = [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
      expect(durations[0]).toBeCloseTo(4, 1);
      const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(playlist)![1]);
      expect(target).toBe(4);
      expect(durations.every((d) => Math.round(d) <= target)).toBe(true);
      await server.waitForLog(/WARN packager\.long-gop stream=longgop rendition=720p segmentMs=4\d\d\d targetMs=2000/);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('drops a connection silent in the middle of its handshake after the handshake timeout (10 s)', async () => {
    expect(silent).toBeDefined();
    await silent;
    await server.waitForLog(/rtmp\.dropped .*code=timeout/);
  }, 30_000);
});
