// ABR on a three-rung live stream in real Chromium: a viewer throttled below the top rung (CDP network emulation)
// switches down without a stall, holds the lower rung, and goes back up once the limit is lifted, at low latency.
// hls.js's default estimator on the same kind of trace is compared in the bench (`npm run bench -- abr`), not here.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABR_LADDER, ABR_LADDER_BITRATES, AbrViewer, summarizeTrace, type LinkChange } from './support/abr-trace.ts';
import { launchChromium } from './support/browser.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { startServer, type RunningServer } from './support/server.ts';

const STREAM = 'abr';
/** Below the top rung (2.5 Mbit/s video + audio), above the middle one. */
const THROTTLED_BPS = 1_600_000;
/** How long the limit is held after the switch down: the lower rung must play on without stalling. */
const HOLD_MS = 4000;

let server: RunningServer;
let publisher: NodePublisher;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  publisher = await startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, ladder: ABR_LADDER, sourceSeconds: 4 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await publisher?.stop();
  await server?.stop();
});

describe('ABR on streamed LL-HLS parts', () => {
  it('a throttled viewer switches down within 2 s without a stall, and back up after the limit is lifted, at ≤ 1.2 s latency', async () => {
    const viewer = await AbrViewer.open(browser, server.baseUrl, STREAM, 'streamed');
    try {
      // At the top rung with latency settled near the target before the trace starts.
      await viewer.waitFor({ rendition: '720p', latencyBelowMs: 1000 }, 20_000);
      await viewer.startSampling();
      await viewer.throttle(THROTTLED_BPS);
      const drop: LinkChange = { atMs: Date.now(), bps: THROTTLED_BPS };
      await viewer.waitFor({ renditionNot: '720p' }, 10_000);
      // A scripted hold of the limit, not a wait for a condition: the trace's middle step.
      await viewer.page.waitForTimeout(HOLD_MS);
      await viewer.throttle(null);
      const rise: LinkChange = { atMs: Date.now(), bps: null };
      await viewer.waitFor({ rendition: '720p' }, 30_000);
      const samples = await viewer.samples();
      const trace = summarizeTrace(samples, drop, rise, ABR_LADDER_BITRATES);
      console.log(`[abr] ${JSON.stringify(trace)}`);
      if (process.env.ABR_TRACE) {
        for (const s of samples) console.log(`${s.atMs - drop.atMs} ${s.rendition} est ${((s.bandwidthEstimateBps ?? 0) / 1e6).toFixed(2)} buf ${s.bufferMs} lat ${s.latencyMs} st ${s.stalls}`);
      }
      expect(trace.downMs, 'switch down after the drop').not.toBeNull();
      expect(trace.downMs!).toBeLessThanOrEqual(2000);
      expect(trace.stalls, 'stalls during the trace').toBe(0);
      expect(trace.upMs, 'back to 720p after the lift').not.toBeNull();
      expect(trace.latencyP95Ms).toBeLessThanOrEqual(1200);
    } finally {
      await viewer.close();
    }
  }, 120_000);
});
