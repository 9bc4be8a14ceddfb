// Parts appended as their bytes arrive: in real Chromium, a `low` viewer's buffer grows while a part is still loading,
// and a viewer holding a 400 ms target plays without stalls. Fails if an hls.js upgrade turns the adapter off.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.ts';
import { viewerStats, watchFor } from './support/pages.ts';
import { startServer, type RunningServer } from './support/server.ts';

/** What the suite reads of the viewer's stats beyond pages.ts's. */
interface ProgressStats {
  earlyChunkPushes: number | null;
  targetLatencyMs: number | null;
}

let server: RunningServer;
let browser: Browser;
const STREAM = 'progressive';

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
  // One rung: parts stream on the top rung only (the ABR measures the way up on complete parts below it).
  const broadcaster = await (await browser.newContext()).newPage();
  await broadcaster.goto(`${server.baseUrl}/broadcast?stream=${STREAM}&source=test&autostart=1&ladder=720p`);
  await broadcaster.waitForSelector('body[data-state="live"]', { timeout: 20_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openViewer(query: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.baseUrl}/watch?stream=${STREAM}${query}`);
  await page.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
  return page;
}

function progressStats(page: Page): Promise<ProgressStats> {
  return page.evaluate(() => (window as unknown as { swarmcast: { stats(): ProgressStats } }).swarmcast.stats());
}

/**
 * In the page for `durationMs`: every time the video's buffered end moved, and the response of every part (its first
 * and last byte), all on the page's performance clock.
 */
function recordAppends(page: Page, durationMs: number): Promise<{ advancesMs: number[]; parts: { startMs: number; endMs: number }[] }> {
  return page.evaluate(
    (durationMs) =>
      new Promise((done) => {
        const video = document.querySelector('swarmcast-player')!.shadowRoot!.querySelector('video')!;
        const end = (): number => (video.buffered.length > 0 ? video.buffered.end(video.buffered.length - 1) : 0);
        const advancesMs: number[] = [];
        let last = end();
        const startedMs = performance.now();
        const timer = setInterval(() => {
          const now = end();
          if (now > last) advancesMs.push(performance.now());
          last = now;
          if (performance.now() - startedMs < durationMs) return;
          clearInterval(timer);
          const parts = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
            .filter((entry) => entry.name.endsWith('.m4s') && entry.startTime >= startedMs)
            .map((entry) => ({ startMs: entry.responseStart, endMs: entry.responseEnd }));
          done({ advancesMs, parts });
        }, 5);
      }),
    durationMs,
  );
}

describe('low mode appends each chunk of a part as it arrives', () => {
  it('grows the buffer while a part is still arriving, chunk by chunk', async () => {
    const page = await openViewer('&target=400');
    const before = await progressStats(page);
    expect(before.earlyChunkPushes, 'the hls.js adapter is in place').not.toBeNull();
    const { advancesMs, parts } = await recordAppends(page, 5000);
    // Streamed parts: the bytes of each arrive over most of its 200 ms, not in one burst.
    const streamed = parts.filter((p) => p.endMs - p.startMs > 60);
    expect(streamed.length).toBeGreaterThan(10);
    // Appends that landed while their part was still arriving (well before its last byte).
    const duringPart = advancesMs.filter((at) => streamed.some((p) => at > p.startMs && at < p.endMs - 30));
    expect(duringPart.length).toBeGreaterThan(streamed.length);
    const after = await progressStats(page);
    // About a push per frame: several per 200 ms part.
    expect(after.earlyChunkPushes! - before.earlyChunkPushes!).toBeGreaterThan(2 * streamed.length);
    await page.context().close();
  });

  it('plays 20 s without a stall above a 400 ms floor, the adaptive target coming down toward it', async () => {
    const page = await openViewer('&target=400');
    // Settled first: the join jumps to the target once enough is buffered.
    await watchFor(page, 3);
    const { first, last, samples } = await watchFor(page, 20);
    expect(last.stalls - first.stalls).toBe(0);
    const target = await page.evaluate(() => (window as unknown as { swarmcast: { stats(): { targetLatencyMs: number } } }).swarmcast.stats().targetLatencyMs);
    // The floor holds; the target starts at 0.8 s and lowers after a clean stretch.
    expect(target).toBeGreaterThanOrEqual(400);
    expect(target).toBeLessThan(800);
    const latencies = samples.map((s) => s.latencyMs!).sort((a, b) => a - b);
    expect(latencies[0]).toBeGreaterThan(300);
    expect(latencies.at(-1)).toBeLessThan(900);
    expect((await viewerStats(page)).stuckPlayheadRecoveries).toBe(0);
    await page.context().close();
  });

  it('appends parts whole without the streamed ABR loader, and refuses a nonsense target in words', async () => {
    const page = await openViewer('&abr=hls.js');
    expect((await progressStats(page)).earlyChunkPushes).toBeNull();
    await page.context().close();
    // Without a target the default path (0.8 s, whole parts) is unchanged.
    const plain = await openViewer('');
    const plainStats = await progressStats(plain);
    expect(plainStats.earlyChunkPushes).toBeNull();
    expect(plainStats.targetLatencyMs).toBeGreaterThanOrEqual(800);
    await plain.context().close();
    const bad = await (await browser.newContext()).newPage();
    await bad.goto(`${server.baseUrl}/watch?stream=${STREAM}&target=20`);
    await bad.waitForSelector('body[data-state="error"]', { timeout: 10_000 });
    expect(await bad.textContent('body')).toMatch(/is not a latency in ms from 150 to 10000/);
    await bad.context().close();
  });
});
