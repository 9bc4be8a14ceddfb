// Segments join exactly in Chromium's Media Source Extensions: a complete segment's buffered range ends on the first
// frame of the next one, to the microsecond. A buffer that ends 1 µs short of a segment boundary made hls.js 1.7
// pick the finished segment again instead of the next part, and playback stalled there about once a minute (issue 3).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multivariantPath } from '../shared/playback-path.ts';
import { child, inspect } from './support/mp4-probe.ts';
import { launchChromium } from './support/browser.ts';
import { mediaPlaylistUrl, playlistWithSegments, rawGet, segmentsOf } from './support/live-hls.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { startServer, type RunningServer } from './support/server.ts';

const STREAM = 'mse-boundaries-e2e';
let server: RunningServer;
let publisher: NodePublisher;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  publisher = await startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, width: 640, height: 360, rendition: '360p', videoBitrate: 800_000, sourceSeconds: 2 });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await publisher?.stop();
  await server?.stop();
});

/** Decode time of the first video sample of a segment or part, in seconds, read with mux.js's MP4 inspector. */
function firstVideoTimeS(media: Uint8Array, videoTimescale: number): number {
  const moof = inspect(media).find((box) => box.type === 'moof');
  const trafs = (moof?.boxes ?? []).filter((box) => box.type === 'traf');
  const videoTraf = trafs.find((traf) => child(traf, 'tfhd').trackId === 1);
  return (child(videoTraf, 'tfdt').baseMediaDecodeTime as number) / videoTimescale;
}

function videoTimescaleOf(init: Uint8Array): number {
  const moov = inspect(init).find((box) => box.type === 'moov');
  const videoTrak = (moov?.boxes ?? []).find((box) => box.type === 'trak' && child(child(box, 'mdia'), 'hdlr').handlerType === 'vide');
  return child(child(videoTrak, 'mdia'), 'mdhd').timescale as number;
}

describe('segment boundaries in Chromium MSE', () => {
  it('a complete segment buffers up to exactly the first frame of the next, and consecutive segments make one range', async () => {
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, STREAM);
    const playlist = await playlistWithSegments(playlistUrl, 4);
    const initUri = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1];
    expect(initUri).toBeDefined();
    const urls = [initUri!, ...segmentsOf(playlist).slice(1, 4)].map((uri) => new URL(uri, playlistUrl).href);
    const [init, ...segments] = await Promise.all(urls.map(async (url) => new Uint8Array((await rawGet(url)).body)));
    const timescale = videoTimescaleOf(init!);
    const segmentStartsS = segments.map((segment) => firstVideoTimeS(segment, timescale));
    const codecs = /CODECS="([^"]+)"/.exec(await (await fetch(`${server.baseUrl}${multivariantPath(STREAM)}`)).text())?.[1];
    expect(codecs).toBeDefined();

    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.baseUrl}/`);
    // Appends init, then two segments; after each segment, the SourceBuffer's ranges.
    const rangesAfterEach = await page.evaluate(
      async ({ mime, mediaUrls }) => {
        const video = document.createElement('video');
        const mediaSource = new MediaSource();
        video.src = URL.createObjectURL(mediaSource);
        await new Promise((opened) => mediaSource.addEventListener('sourceopen', opened, { once: true }));
        const buffer = mediaSource.addSourceBuffer(mime);
        const snapshots: [number, number][][] = [];
        for (const url of mediaUrls) {
          buffer.appendBuffer(await (await fetch(url)).arrayBuffer());
          await new Promise((done) => buffer.addEventListener('updateend', done, { once: true }));
          snapshots.push(Array.from({ length: buffer.buffered.length }, (_, i) => [buffer.buffered.start(i), buffer.buffered.end(i)]));
        }
        return snapshots.slice(1);
      },
      { mime: `video/mp4; codecs="${codecs!}"`, mediaUrls: urls.slice(0, 3) },
    );
    await page.context().close();

    const [afterFirst, afterSecond] = rangesAfterEach;
    // Exact equality on purpose: both sides are whole microseconds divided by 10^6. (A range starts where both audio
    // and video have begun, so only its end is exact.)
    expect(afterFirst).toHaveLength(1);
    expect(afterFirst![0]![1]).toBe(segmentStartsS[1]);
    expect(afterSecond).toHaveLength(1);
    expect(afterSecond![0]![1]).toBe(segmentStartsS[2]);
  }, 60_000);
});
