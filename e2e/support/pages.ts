// The product's pages as the e2e suites drive them: a test-source broadcast going live, a viewer's stats, a watched stretch.
import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';

/** The part of the viewer's `window.swarmcast.stats()` the suites read. */
export interface ViewerStats {
  state: string;
  latencyMs: number | null;
  bufferMs: number;
  stalls: number;
  bitrate: number;
  currentTime: number;
  decodedFrames: number;
  audioDecodedBytes: number | null;
  edge: string | null;
  edgeSwitches: number;
  /** Seeks the player made to free a playhead stuck before buffered media; none in a healthy Chromium playback. */
  stuckPlayheadRecoveries: number;
}

/** Opens `/broadcast` with the synthetic source on `baseUrl` in a context of its own and waits until it is live. */
export async function goLiveWithTestSource(browser: Browser, baseUrl: string, stream: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${baseUrl}/broadcast?stream=${stream}&source=test&autostart=1`);
  await page.waitForSelector('body[data-state="live"]', { timeout: 20_000 });
  return page;
}

export function viewerStats(page: Page): Promise<ViewerStats> {
  return page.evaluate(() => (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast.stats());
}

export interface WatchedStretch {
  first: ViewerStats;
  last: ViewerStats;
  /** One sample per second of media played, the last one being `last`. */
  samples: ViewerStats[];
  /** Wall-clock time the stretch took, ms. */
  wallMs: number;
}

/**
 * Watches until `seconds` more of media have played, sampling the stats at every second of media and checking each time
 * that the viewer is still playing. Fails when the media does not advance at least at 0.8× real time.
 */
export async function watchFor(page: Page, seconds: number): Promise<WatchedStretch> {
  const first = await viewerStats(page);
  const startedMs = Date.now();
  const deadlineMs = startedMs + (seconds / 0.8) * 1000;
  const samples: ViewerStats[] = [];
  for (let second = 1; second <= seconds; second++) {
    await page.waitForFunction(
      (target) => {
        const stats = (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast.stats();
        return stats.state !== 'playing' || stats.currentTime >= target;
      },
      first.currentTime + second,
      { polling: 100, timeout: Math.max(1, deadlineMs - Date.now()) },
    );
    const sample = await viewerStats(page);
    expect(sample.state).toBe('playing');
    samples.push(sample);
  }
  return { first, last: samples.at(-1) ?? first, samples, wallMs: Date.now() - startedMs };
}

/**
 * A viewer of `stream` on the watch page, in a context of its own: waits for `playing`, watches `seconds` of media
 * (watchFor), closes, and returns the stretch for the caller's assertions.
 */
export async function watchStreamFor(browser: Browser, baseUrl: string, stream: string, seconds: number): Promise<WatchedStretch> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${baseUrl}/watch?stream=${stream}`);
    await page.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    return await watchFor(page, seconds);
  } finally {
    await context.close();
  }
}
