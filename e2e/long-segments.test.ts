// SEGMENT_TARGET_MS=10000 end to end: a Chromium broadcaster publishes 10 s segments to an origin, a viewer plays them
// through a built-in edge, and blocking reloads held past the 6 s that 2 s segments would allow are answered, not cut.
import HLS from 'hls-parser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { liveThroughEdge, type LiveThroughEdge } from './support/edge-fixture.ts';
import { mediaPlaylistUrl, playlistWithSegments, rawGet } from './support/live-hls.ts';
import { watchFor, type ViewerStats } from './support/pages.ts';
import type { RunningServer } from './support/server.ts';

const STREAM = 'long-segments';
const SEGMENT_TARGET_MS = 10_000;
let origin: RunningServer;
let edge: RunningServer;
let browser: Browser;
let live: LiveThroughEdge | undefined;

beforeAll(async () => {
  live = await liveThroughEdge(STREAM, { SEGMENT_TARGET_MS: String(SEGMENT_TARGET_MS) });
  ({ origin, edge, browser } = live);
}, 40_000);

afterAll(async () => {
  await live?.close();
});

function mediaPlaylist(text: string): HLS.types.MediaPlaylist {
  return HLS.parse(text) as HLS.types.MediaPlaylist;
}

/** The complete segments of a media playlist (hls-parser lists the one in progress too, without a URI). */
function completeSegments(playlist: HLS.types.MediaPlaylist): HLS.types.Segment[] {
  return playlist.segments.filter((segment) => segment.uri !== '');
}

describe('10 s segments (SEGMENT_TARGET_MS=10000)', () => {
  it('cuts 10 s segments on the broadcaster\'s keyframes and says so in EXT-X-TARGETDURATION', async () => {
    const playlistUrl = await mediaPlaylistUrl(edge.baseUrl, STREAM);
    // The first segment is a short one (two parts); the next is the first full 10 s segment.
    const playlist = mediaPlaylist(await playlistWithSegments(playlistUrl, 2, 30_000));
    expect(playlist.targetDuration).toBe(10);
    const full = completeSegments(playlist).filter((segment) => segment.mediaSequenceNumber > 0);
    expect(full.length).toBeGreaterThan(0);
    for (const segment of full) {
      expect(segment.duration).toBeGreaterThan(9.5);
      expect(segment.duration).toBeLessThanOrEqual(10.5);
      // Parts stay at the 200 ms part target whatever the segment length.
      expect(segment.parts.length).toBeGreaterThanOrEqual(48);
    }
  }, 40_000);

  it('plays through the edge across a segment boundary at LL-HLS latency', async () => {
    const viewer: Page = await (await browser.newContext()).newPage();
    onTestFinished(() => viewer.context().close());
    await viewer.goto(`${edge.baseUrl}/watch?stream=${STREAM}`);
    await viewer.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    // The player may start at the opening of a segment up to 10 s old, with that segment buffered ahead, before its
    // catch-up control jumps to the target latency: wait for the jump (a short buffer ahead) before watching.
    await viewer.waitForFunction(
      () => {
        const { latencyMs, bufferMs } = (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast.stats();
        return latencyMs !== null && latencyMs < 3000 && bufferMs < 3000;
      },
      null,
      { polling: 100, timeout: 15_000 },
    );
    // 12 s of media cross at least one 10 s segment boundary.
    const { first, last, samples } = await watchFor(viewer, 12);
    expect(last.decodedFrames - first.decodedFrames).toBeGreaterThan(250);
    // Parts, not segments, set the latency: long segments leave it at about a second.
    for (const sample of samples) {
      expect(sample.latencyMs).not.toBeNull();
      expect(sample.latencyMs!).toBeGreaterThan(0);
      expect(sample.latencyMs!).toBeLessThan(3000);
    }
  }, 60_000);

  it('holds a blocking reload for more than 6 s and answers it, at the origin and through the edge', async () => {
    // Read through the edge, which so sees the stream's EXT-X-TARGETDURATION before the held request.
    const playlistUrl = await mediaPlaylistUrl(edge.baseUrl, STREAM);
    const playlist = mediaPlaylist((await rawGet(playlistUrl)).body.toString());
    const lastCompleteMsn = completeSegments(playlist).at(-1)?.mediaSequenceNumber ?? -1;
    // Two segments past the last complete one: the one in progress and a whole 10 s one after it must complete first.
    const wantedMsn = lastCompleteMsn + 2;
    const path = `${new URL(playlistUrl).pathname}?_HLS_msn=${wantedMsn}`;
    const sentAtMs = performance.now();
    const [atOrigin, throughEdge] = await Promise.all([rawGet(`${origin.baseUrl}${path}`), rawGet(`${edge.baseUrl}${path}`)]);
    for (const answer of [atOrigin, throughEdge]) {
      expect(answer.status, answer.body.toString()).toBe(200);
      expect(answer.doneAtMs - sentAtMs).toBeGreaterThan(6_000);
      // Within the origin's 30 s hold (3 × the 10 s target duration).
      expect(answer.doneAtMs - sentAtMs).toBeLessThan(30_000);
      const held = mediaPlaylist(answer.body.toString());
      expect(completeSegments(held).at(-1)?.mediaSequenceNumber).toBeGreaterThanOrEqual(wantedMsn);
    }
  }, 45_000);
});
