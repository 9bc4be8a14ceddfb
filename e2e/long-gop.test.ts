// An RTMP encoder keyed every 4 s on 2 s segment targets: every media playlist a viewer can read, from the first on,
// carries the same EXT-X-TARGETDURATION (RFC 8216 §6.2.1), one that covers its 4 s segments.
import type { ChildProcess } from 'node:child_process';
import * as HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLivePlaylists, formatViolations } from './conformance/checker.ts';
import { readMediaPlaylist } from './conformance/media-playlist.ts';
import { killed, publishTestSignal } from './support/ffmpeg-hls.ts';
import { readMetric } from './support/metrics.ts';
import { startServer, type RunningServer } from './support/server.ts';

const KEY = 'long-gop-e2e-publish-key-0123';
/** Complete segments the last playlist read must list: the first and three after it, each one a chance to change the tag. */
const SEGMENTS_READ = 4;
let server: RunningServer;
let publisher: ChildProcess | undefined;
/** The e2e project retries a failed test once: each attempt publishes a stream of its own. */
let attempt = 0;

beforeAll(async () => {
  server = await startServer({ PUBLISH_KEY: KEY, SEGMENT_TARGET_MS: '2000', PART_TARGET_MS: '200' });
  if (!server.rtmpBase) throw new Error('the server printed no RTMP address');
}, 60_000);

afterAll(async () => {
  if (publisher) await killed(publisher);
  await server?.stop();
});

describe('an encoder that owns a GOP twice the segment target', () => {
  it('gets one EXT-X-TARGETDURATION of at least 4 in every playlist from the first a viewer can read, and no raise', async () => {
    if (publisher) await killed(publisher);
    const stream = `gop${++attempt}`;
    const playlistUrl = `${server.baseUrl}/live/${stream}/720p/media.m3u8`;
    publisher = publishTestSignal(
      '1280x720',
      // A keyframe every 120 frames (4 s) and none in between (no scene-cut keyframes), as a studio encoder set to 4 s sends.
      ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '120', '-keyint_min', '120', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
      ['-f', 'flv', `${server.rtmpBase}/live/${stream}?key=${KEY}`],
    );
    let stderr = '';
    publisher.stderr!.on('data', (text: Buffer) => (stderr += text.toString()));

    const texts: string[] = [];
    const deadline = Date.now() + 60_000;
    // Plain reloads every 100 ms (a part's time) from before anything is published: each state of the playlist is
    // read, the first one included.
    for (;;) {
      if (Date.now() > deadline) throw new Error(`read ${texts.length} playlists, not ${SEGMENTS_READ} segments in time; ffmpeg: ${stderr}`);
      const res = await fetch(playlistUrl);
      const text = await res.text();
      if (res.status === 200) {
        texts.push(text);
        const playlist = HLS.parse(text) as HLS.types.MediaPlaylist;
        if (playlist.segments.filter((s) => Number.isFinite(s.duration)).length >= SEGMENTS_READ) break;
      } else {
        expect(res.status, text).toBe(404);
        expect(texts).toEqual([]);
      }
      await new Promise((done) => setTimeout(done, 100));
    }

    const playlists = texts.map((text) => HLS.parse(text) as HLS.types.MediaPlaylist);
    const targets = new Set(playlists.map((p) => p.targetDuration));
    expect([...targets]).toHaveLength(1);
    const [target] = targets;
    expect(target).toBeGreaterThanOrEqual(4);
    // The first playlist served already lists the complete first segment that set the target: a keyframe-to-keyframe 4 s.
    const first = playlists[0]!.segments.filter((s) => Number.isFinite(s.duration));
    expect(first.length).toBeGreaterThanOrEqual(1);
    expect(first[0]!.duration).toBeCloseTo(4, 1);
    // Among others, every EXTINF within the target (extinf-target-duration).
    const report = checkLivePlaylists(texts.map((text) => ({ playlist: readMediaPlaylist(text) })));
    expect(report.errors, formatViolations(report.errors)).toEqual([]);
    expect(await readMetric(server.baseUrl, 'swarmcast_target_duration_raises_total')).toBe(0);
    expect(server.logLines.filter((line) => line.includes('origin.target-duration-raised'))).toEqual([]);
    // The packager still tells the operator the GOP is longer than the segment target.
    await server.waitForLog(new RegExp(`WARN packager\\.long-gop stream=${stream} rendition=720p segmentMs=4\\d\\d\\d targetMs=2000`));
  }, 90_000);
});
