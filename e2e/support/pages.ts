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

/** Watches for `seconds`, checking every second that the viewer is still playing; returns the first and last stats. */
export async function watchFor(page: Page, seconds: number): Promise<{ first: ViewerStats; last: ViewerStats }> {
  const first = await viewerStats(page);
  const startedMs = Date.now();
  while (Date.now() - startedMs < seconds * 1000) {
    await page.waitForTimeout(1000);
    expect((await viewerStats(page)).state).toBe('playing');
  }
  return { first, last: await viewerStats(page) };
}
