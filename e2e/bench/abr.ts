// Bench: ABR at low latency on a scripted bandwidth trace (6 → 1.5 → 6 Mbit/s, BENCH_ABR_STEP_SECONDS each, default
// 20) through Chromium's network emulation, for the player's ABR and for hls.js's default estimator side by side, on
// the three-rung ladder published by node-publisher.ts. `npm run bench -- abr`.
import { launchChromium } from '../support/browser.ts';
import { ABR_LADDER, ABR_LADDER_BITRATES, AbrViewer, summarizeTrace, type LinkChange, type TraceSummary } from '../support/abr-trace.ts';
import { startNodePublisher } from '../support/node-publisher.ts';
import { startServer } from '../support/server.ts';

const STREAM = 'abr-bench';
const HIGH_BPS = 6_000_000;
const LOW_BPS = 1_500_000;
const ABRS = ['streamed', 'hls.js'] as const;

export interface AbrBenchResult {
  abr: (typeof ABRS)[number];
  summary: TraceSummary;
}

/** Plays the trace once per ABR, one viewer at a time on one server and publisher. */
export async function benchAbrTrace(stepSeconds: number): Promise<AbrBenchResult[]> {
  const server = await startServer({ LOG_LEVEL: 'warn' });
  const publisher = await startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, ladder: ABR_LADDER, sourceSeconds: 4 });
  const browser = await launchChromium();
  const results: AbrBenchResult[] = [];
  try {
    for (const abr of ABRS) {
      const viewer = await AbrViewer.open(browser, server.baseUrl, STREAM, abr);
      try {
        await viewer.waitFor({ rendition: '720p' }, 30_000);
        await viewer.throttle(HIGH_BPS);
        await viewer.startSampling();
        // The trace's steps are its schedule: each link holds for a fixed time, whatever the player does.
        await viewer.page.waitForTimeout(stepSeconds * 1000);
        await viewer.throttle(LOW_BPS);
        const drop: LinkChange = { atMs: Date.now(), bps: LOW_BPS };
        await viewer.page.waitForTimeout(stepSeconds * 1000);
        await viewer.throttle(HIGH_BPS);
        const rise: LinkChange = { atMs: Date.now(), bps: HIGH_BPS };
        await viewer.page.waitForTimeout(stepSeconds * 1000);
        results.push({ abr, summary: summarizeTrace(await viewer.samples(), drop, rise, ABR_LADDER_BITRATES) });
      } finally {
        await viewer.close();
      }
    }
  } finally {
    await browser.close();
    await publisher.stop();
    await server.stop();
  }
  return results;
}

const ms = (value: number | null): string => (value === null ? 'never' : Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');

/** One column per ABR, one row per measure. */
export function abrTable(results: readonly AbrBenchResult[]): { header: string[]; rows: string[][] } {
  const row = (measure: string, cell: (s: TraceSummary) => string): string[] => [measure, ...results.map((r) => cell(r.summary))];
  return {
    header: ['measure', ...results.map((r) => (r.abr === 'streamed' ? 'player ABR (streamed parts)' : "hls.js's default estimator"))],
    rows: [
      row('switch down after the drop to 1.5 Mbit/s', (s) => ms(s.downMs)),
      row('back to 720p after the rise to 6 Mbit/s', (s) => ms(s.upMs)),
      row('stalls', (s) => String(s.stalls)),
      row('rung switches', (s) => String(s.switches)),
      row('average rendered video bitrate', (s) => `${(s.renderedBps / 1e6).toFixed(2)} Mbit/s`),
      row('glass-to-glass latency p50 / p95', (s) => `${ms(s.latencyP50Ms)} / ${ms(s.latencyP95Ms)}`),
    ],
  };
}
