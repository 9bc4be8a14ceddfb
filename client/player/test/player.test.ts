// SwarmcastPlayer in real Chromium against a live fMP4 HLS stream made by ffmpeg.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium } from '../../../e2e/support/browser.ts';
import { startHlsSource, type HlsSource } from '../../../e2e/support/ffmpeg-hls.ts';
import { startStaticServer, type StaticServer } from '../../../e2e/support/static-server.ts';
import { startVite, type RunningVite } from '../../../e2e/support/vite.ts';
import type { PlayerStats } from '../index.ts';

let dir: string;
let media: StaticServer;
let pages: RunningVite;
let browser: Browser;
const sources: HlsSource[] = [];
const openPages: Page[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-player-'));
  sources.push(await startHlsSource(join(dir, 'live/camera'), { realtime: true }));
  media = await startStaticServer(dir);
  pages = await startVite({ proxy: { '/live': media.url }, prebundle: ['hls.js'], cacheDir: join(dir, 'vite') });
  browser = await launchChromium();
});

afterEach(async () => {
  await Promise.all(openPages.splice(0).map((page) => page.close()));
});

afterAll(async () => {
  await browser?.close();
  await pages?.close();
  await media?.close();
  await Promise.all(sources.map((source) => source.stop()));
  await rm(dir, { recursive: true, force: true });
});

async function openHarness(src: string, latency = 'low'): Promise<Page> {
  const page = await browser.newPage();
  openPages.push(page);
  page.on('pageerror', (err) => console.error('[page]', err));
  const query = new URLSearchParams({ src, latency });
  await page.goto(`${pages.url}/client/player/test/harness.html?${query}`);
  return page;
}

function harnessStats(page: Page): Promise<PlayerStats> {
  return page.evaluate(() => window.harness.stats());
}

describe('SwarmcastPlayer', () => {
  test('plays a live stream from another origin with video and audio, time advancing and latency measured from PDT', async () => {
    const page = await openHarness(`${media.url}/live/camera/index.m3u8`);
    await page.waitForFunction(() => document.body.dataset['state'] === 'playing', null, { timeout: 20_000 });
    const first = await harnessStats(page);
    await page.waitForFunction((t0) => window.harness.stats().currentTime >= t0 + 5, first.currentTime, { timeout: 15_000 });
    const later = await harnessStats(page);

    expect(later.state).toBe('playing');
    expect(later.decodedFrames).toBeGreaterThan(first.decodedFrames);
    expect(later.audioDecodedBytes).toBeGreaterThan(0);
    // The catch-up control holds latency near its adaptive target: this part-less fixture's 1 s segments are playable
    // only once complete, over a second after their first frame, so the target rises above that and stays below the
    // controller's 2.5 s ceiling. Measured from the PDT, so a wrong clock or a player far behind fails here.
    const latencyMs = later.latencyMs ?? Number.NaN;
    const targetMs = later.targetLatencyMs ?? Number.NaN;
    expect(targetMs).toBeGreaterThan(1000);
    expect(targetMs).toBeLessThanOrEqual(2500);
    expect(Math.abs(latencyMs - targetMs)).toBeLessThan(1000);
    // Media is buffered ahead of the playhead, and never more than the stream has produced since the playing frame.
    expect(later.bufferMs).toBeGreaterThan(100);
    expect(later.bufferMs).toBeLessThanOrEqual(latencyMs + 100);
    expect(later.stalls).toBeLessThanOrEqual(5);
    expect(later.resolution).toBe('640x360');
    expect(later.bitrate).toBeGreaterThan(50_000);
    expect(later.timeToFirstFrameMs).toBeGreaterThan(0);
    expect(later.level).toBe(0);
    expect(later.timeToFirstFrameMs).toBe(later.startup.firstFrameMs);
    expect(later.startup.manifestLoadedMs).toBeLessThanOrEqual(later.startup.firstPartLoadedMs ?? Number.NaN);
    expect(later.startup.firstPartLoadedMs).toBeLessThanOrEqual(later.timeToFirstFrameMs ?? Number.NaN);
    expect(await page.evaluate(() => window.harness.errors)).toEqual([]);
    // `low` mode loads no peer engine and counts no peer traffic.
    expect([later.bytesHttp, later.bytesP2p, later.peers]).toEqual([0, 0, 0]);
  });

  test('p2p latency mode plays several segments behind the live edge', async () => {
    const page = await openHarness(`${media.url}/live/camera/index.m3u8`, 'p2p');
    await page.waitForFunction(() => document.body.dataset['state'] === 'playing', null, { timeout: 20_000 });
    const stats = await harnessStats(page);
    expect(stats.latencyMode).toBe('p2p');
    // liveSyncDuration: 4.5 s behind the newest segment.
    expect(stats.targetLatencyMs).toBe(4500);
    // No tracker answers here (a silent swarm): the peer engine fetches every segment over HTTP, in time to play.
    await page.waitForFunction(() => window.harness.stats().bytesHttp > 0, null, { timeout: 10_000 });
    const later = await harnessStats(page);
    expect(later.bytesP2p).toBe(0);
    expect(later.peers).toBe(0);
    expect(later.stalls).toBe(0);
  });

  test('waits while the manifest is 404, then plays once the broadcast goes live', async () => {
    const page = await openHarness(`${media.url}/live/late/index.m3u8`);
    await page.waitForFunction(() => window.harness.reason() === 'waiting-for-broadcast', null, { timeout: 10_000 });
    expect(await page.evaluate(() => document.body.dataset['state'])).toBe('connecting');

    const late = await startHlsSource(join(dir, 'live/late'), { realtime: true });
    sources.push(late);
    await page.waitForFunction(() => document.body.dataset['state'] === 'playing', null, { timeout: 25_000 });

    // Going off air writes EXT-X-ENDLIST: the player plays out the tail and reports the end.
    await late.stop();
    await page.waitForFunction(() => window.harness.reason() === 'ended', null, { timeout: 20_000 });
    expect(await page.evaluate(() => document.body.dataset['state'])).toBe('idle');
    expect(await page.evaluate(() => window.harness.errors)).toEqual([]);
  });

  test('a viewer arriving after the broadcast ended sees it ended, not a replay', async () => {
    await startHlsSource(join(dir, 'live/over'), { realtime: false, durationS: 2 });
    const page = await openHarness(`${media.url}/live/over/index.m3u8`);
    await page.waitForFunction(() => window.harness.reason() === 'ended', null, { timeout: 10_000 });
    const stats = await harnessStats(page);
    expect(stats.state).toBe('idle');
    expect(stats.decodedFrames).toBe(0);
  });
});

describe('watch page', () => {
  // Runs in the page: the watch page's automation contract, `window.swarmcast.stats()`.
  function watchStats(page: Page): Promise<PlayerStats> {
    return page.evaluate(() => (window as unknown as { swarmcast: { stats(): PlayerStats } }).swarmcast.stats());
  }

  async function openWatch(query: string): Promise<Page> {
    const page = await browser.newPage();
    openPages.push(page);
    page.on('pageerror', (err) => console.error('[page]', err));
    await page.goto(`${pages.url}/client/pages/watch.html?${query}`);
    return page;
  }

  test('plays a live stream from /live/NAME/index.m3u8 and exposes its stats', async () => {
    const page = await openWatch('stream=camera');
    await page.waitForFunction(() => document.body.dataset['state'] === 'playing', null, { timeout: 20_000 });
    await expect.poll(async () => (await watchStats(page)).latencyMs ?? 0, { timeout: 5_000 }).toBeGreaterThan(0);
    const stats = await watchStats(page);
    expect(stats.state).toBe('playing');
    expect(stats.latencyMs).toBeLessThan(15_000);
    // The page plays in <swarmcast-player>: its LIVE badge says how far behind, no state screen covers the video.
    expect(await page.locator('swarmcast-player .live').isVisible()).toBe(true);
    expect(await page.locator('swarmcast-player .screen').isVisible()).toBe(false);
    expect(await page.locator('#message').isVisible()).toBe(false);
    await expect.poll(() => page.locator('swarmcast-player .live').textContent(), { timeout: 5_000 }).toMatch(/^LIVE −?\d+\.\d s$/);
    expect(await page.locator('#share-link').inputValue()).toMatch(/\/watch\?stream=camera$/);
  });

  test('shows the target latency the player holds and the measured latency, as stats() reports them', async () => {
    const page = await openWatch('stream=camera');
    await page.waitForFunction(() => document.body.dataset['state'] === 'playing', null, { timeout: 20_000 });
    await expect.poll(() => page.locator('#stat-latency').textContent(), { timeout: 5_000 }).toMatch(/^\d+\.\d\d s$/);
    // The page refreshes once a second: what it shows is stats() from at most a second ago.
    await expect
      .poll(async () => {
        const stats = await watchStats(page);
        return (await page.locator('#stat-target').textContent()) === `${((stats.targetLatencyMs ?? 0) / 1000).toFixed(2)} s`;
      }, { timeout: 5_000 })
      .toBe(true);
    const stats = await watchStats(page);
    // Adapted to this fixture's 1 s segments without parts, which arrive over a second after their first frame.
    expect(stats.targetLatencyMs).toBeGreaterThanOrEqual(800);
    const shownMs = Number.parseFloat((await page.locator('#stat-latency').textContent()) ?? '') * 1000;
    expect(Math.abs(shownMs - (stats.latencyMs ?? Number.NaN))).toBeLessThan(1500);
    expect(await page.locator('#stat-rate').textContent()).toMatch(/^\d\.\d\d×$/);
  });

  test('shows "Starting soon" while the stream 404s', async () => {
    const page = await openWatch('stream=nobody');
    await expect.poll(() => page.locator('swarmcast-player .screen .title').textContent(), { timeout: 10_000 }).toBe('Starting soon');
    expect(await page.locator('swarmcast-player .screen').getAttribute('data-screen')).toBe('starting-soon');
    expect(await page.evaluate(() => document.body.dataset['state'])).toBe('connecting');
    expect((await watchStats(page)).state).toBe('connecting');
  });

  test('an invalid stream name is an error that says what a valid name is', async () => {
    const page = await openWatch('stream=Not%20Valid!');
    await page.waitForFunction(() => document.body.dataset['state'] === 'error', null, { timeout: 5_000 });
    expect(await page.locator('#message-title').textContent()).toContain('is not a valid stream name');
    expect(await page.locator('#message-detail').textContent()).toContain('1 to 64 lowercase letters');
    expect((await watchStats(page)).state).toBe('error');
  });

  test('p2p mode says what it does: a few seconds behind, segments shared and checked', async () => {
    const page = await openWatch('stream=camera&latency=p2p');
    await page.waitForFunction(() => document.body.dataset['state'] === 'playing', null, { timeout: 20_000 });
    expect(await page.locator('#p2p-notice').textContent()).toContain('checked against the server');
  });
});

describe('landing page', () => {
  test('suggests a valid stream name and sends "Watch" to /watch?stream=NAME', async () => {
    const page = await browser.newPage();
    openPages.push(page);
    await page.goto(`${pages.url}/client/pages/index.html`);
    const suggested = await page.locator('#stream').inputValue();
    expect(suggested).toMatch(/^[a-z0-9_-]{1,64}$/);
    expect(await page.locator('#playback-url').textContent()).toBe(`${pages.url}/live/${suggested}/index.m3u8`);

    await page.locator('#stream').fill('Bad Name!');
    await page.locator('#watch').click();
    expect(await page.locator('#stream-error').isVisible()).toBe(true);
    expect(new URL(page.url()).pathname).toBe('/client/pages/index.html');

    // The real server maps /watch to the viewer page; here only the navigation itself matters.
    await page.route('**/watch?*', (route) => route.fulfill({ contentType: 'text/html', body: 'watch' }));
    await page.locator('#stream').fill('my-show');
    await Promise.all([page.waitForURL('**/watch?stream=my-show'), page.locator('#watch').click()]);
  });
});
