// Viewer failover between two edges: a viewer playing through edge A keeps playing, from edge B, when edge A dies.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.ts';
import { goLiveWithTestSource, viewerStats, type ViewerStats } from './support/pages.ts';
import { startServer, type RunningServer } from './support/server.ts';


const STREAM = 'failover-e2e';
let origin: RunningServer;
let edgeA: RunningServer;
let edgeB: RunningServer;
let browser: Browser;

beforeAll(async () => {
  origin = await startServer({ ROLE: 'origin' });
  [edgeA, edgeB] = await Promise.all([
    startServer({ ROLE: 'edge', ORIGIN_URL: origin.baseUrl }),
    startServer({ ROLE: 'edge', ORIGIN_URL: origin.baseUrl }),
  ]);
  browser = await launchChromium();
  await goLiveWithTestSource(browser, origin.baseUrl, STREAM);
}, 40_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([edgeA?.stop(), edgeB?.stop()]);
  await origin?.stop();
});

describe('edge failover', () => {
  it('keeps playing from the second edge, without a page reload, when the edge in use is killed', async () => {
    const viewer: Page = await (await browser.newContext()).newPage();
    const page = `${edgeA.baseUrl}/watch?stream=${STREAM}&edges=${edgeA.baseUrl},${edgeB.baseUrl}`;
    await viewer.goto(page);
    await viewer.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    const stats = (): Promise<ViewerStats> => viewerStats(viewer);
    await viewer.waitForFunction(() => (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast.stats().currentTime > 3);
    const before = await stats();
    expect(before.edge).toBe(edgeA.baseUrl);
    expect(before.edgeSwitches).toBe(0);

    await edgeA.stop();

    // Playback goes on for 8 more seconds of media on edge B; the page is the same document throughout.
    await viewer.waitForFunction(
      (t) => (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast.stats().currentTime > t + 8,
      before.currentTime,
      { timeout: 20_000 },
    );
    const after = await stats();
    expect(after.state).toBe('playing');
    expect(after.edge).toBe(edgeB.baseUrl);
    expect(after.edgeSwitches).toBeGreaterThanOrEqual(1);
    // Frames keep being decoded (a catch-up jump after the switch may skip some of the 8 s).
    expect(after.decodedFrames - before.decodedFrames).toBeGreaterThan(120);
    // At most a short stall while the switch happens.
    expect(after.stalls - before.stalls).toBeLessThanOrEqual(1);
    expect(viewer.url()).toBe(page);
    await viewer.context().close();
  }, 60_000);

  it('refuses an edges list that is not made of http(s) origins, saying what it expects', async () => {
    const viewer: Page = await (await browser.newContext()).newPage();
    await viewer.goto(`${edgeB.baseUrl}/watch?stream=${STREAM}&edges=ftp://nope`);
    await viewer.waitForSelector('body[data-state="error"]');
    expect(await viewer.textContent('body')).toMatch(/edges=http:\/\/host:port/);
    await viewer.context().close();
  });
});
