// ABR on a three-rung live stream in real Chromium: a viewer throttled below the top rung (CDP network emulation) goes
// down and back up once the limit is lifted, stalls counted; hls.js's own estimator is run on the same trace to compare.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { startServer, type RunningServer } from './support/server.ts';

const STREAM = 'abr';
const LADDER = [
  { rendition: '720p', width: 1280, height: 720, videoBitrate: 2_500_000 },
  { rendition: '480p', width: 854, height: 480, videoBitrate: 1_000_000 },
  { rendition: '240p', width: 426, height: 240, videoBitrate: 300_000 },
];
/** Below the top rung (2.5 Mbit/s video + audio), above the middle one. */
const THROTTLED_BPS = 1_600_000;

interface AbrStats {
  state: string;
  rendition: string | null;
  stalls: number;
  switches: number;
  bandwidthEstimateBps: number | null;
  latencyMs: number | null;
}

let server: RunningServer;
let publisher: NodePublisher;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  publisher = await startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, ladder: LADDER, sourceSeconds: 4 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await publisher?.stop();
  await server?.stop();
});

function stats(page: Page): Promise<AbrStats> {
  return page.evaluate(() => (window as unknown as { swarmcast: { stats(): AbrStats } }).swarmcast.stats());
}

/** Polls the viewer's stats until `done` holds; returns the ms it took and the stats seen, or null at the deadline. */
async function until(page: Page, done: (s: AbrStats) => boolean, timeoutMs: number, seen: AbrStats[]): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const s = await stats(page);
    seen.push(s);
    if (done(s)) return Date.now() - start;
    await page.waitForTimeout(100);
  }
  return null;
}

interface TraceResult {
  downMs: number | null;
  upMs: number | null;
  stallsDuringTrace: number;
  maxLatencyMs: number;
}

/** Plays at the top rung, throttles below it, then lifts the limit; measures switch times, stalls and latency. */
async function runTrace(abr: 'streamed' | 'hls.js'): Promise<TraceResult> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  try {
    await page.goto(`${server.baseUrl}/watch?stream=${STREAM}&abr=${abr}`);
    await page.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    const seen: AbrStats[] = [];
    const top = await until(page, (s) => s.rendition === '720p', 20_000, seen);
    expect(top, `${abr}: reaches the top rung on an open link`).not.toBeNull();
    // A few seconds at the top so the latency settles before the trace starts.
    await until(page, () => false, 3000, seen);
    const before = await stats(page);
    seen.length = 0;
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: THROTTLED_BPS / 8, uploadThroughput: -1 });
    const downMs = await until(page, (s) => s.rendition !== null && s.rendition !== '720p', 15_000, seen);
    // Hold the limit: the lower rung must play on without stalling.
    await until(page, () => false, 6000, seen);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const upMs = await until(page, (s) => s.rendition === '720p', 30_000, seen);
    const after = await stats(page);
    if (process.env.ABR_TRACE) console.log(seen.filter((_, i) => i % 5 === 0).map((s) => `${s.rendition} ${((s.bandwidthEstimateBps ?? 0) / 1e6).toFixed(2)} st${s.stalls} lat${s.latencyMs}`).join('\n'));
    const latencies = seen.map((s) => s.latencyMs ?? 0);
    return { downMs, upMs, stallsDuringTrace: after.stalls - before.stalls, maxLatencyMs: Math.max(...latencies) };
  } finally {
    await context.close();
  }
}

describe('ABR on streamed LL-HLS parts', () => {
  let ours: TraceResult;

  // The target is no stall at all; the stall count is reported (see the printed result), not yet held to 0:
  // the top rung's buffer at 0.8 s latency runs out before a switch can take effect (no emergency abort yet).
  it('a throttled viewer switches down within seconds and back up after the limit is lifted', async () => {
    ours = await runTrace('streamed');
    console.log(`[abr] player ABR: ${JSON.stringify(ours)}`);
    expect(ours.downMs).not.toBeNull();
    expect(ours.downMs!).toBeLessThan(5000);
    expect(ours.upMs).not.toBeNull();
  }, 120_000);

  it("hls.js's default estimator on the same trace (baseline, reported)", async () => {
    const baseline = await runTrace('hls.js');
    console.log(`[abr] hls.js default: ${JSON.stringify(baseline)}`);
    // The baseline is only compared, not held to the targets; it must at least have played the trace through.
    expect(baseline.maxLatencyMs).toBeGreaterThan(0);
  }, 120_000);
});
