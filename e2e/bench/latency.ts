// Bench: glass-to-glass latency and time to first frame of the whole pipeline on this machine (not a test).
// Broadcaster and viewer run in one Chromium on one clock: latency = viewer's Date.now() − PDT of the frame on screen.
import { cpus, totalmem } from 'node:os';
import { launchChromium } from '../support/browser.ts';
import { startServer } from '../support/server.ts';

interface ViewerStats {
  state: string;
  latencyMs: number | null;
  stalls: number;
  timeToFirstFrameMs: number | null;
}

const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const runs = Number(process.env.BENCH_RUNS ?? 1);

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

async function main(): Promise<void> {
  const server = await startServer({ LOG_LEVEL: 'warn' });
  const browser = await launchChromium();
  const rows: string[][] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const stream = `bench${run}`;
      const broadcaster = await browser.newContext();
      const viewer = await browser.newContext();
      const bPage = await broadcaster.newPage();
      await bPage.goto(`${server.baseUrl}/broadcast?stream=${stream}&source=test&autostart=1`);
      await bPage.waitForSelector('body[data-state="live"]', { timeout: 30_000 });
      const vPage = await viewer.newPage();
      const loadStartMs = Date.now();
      await vPage.goto(`${server.baseUrl}/watch?stream=${stream}`);
      await vPage.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
      const playingAfterMs = Date.now() - loadStartMs;
      const latencies: number[] = [];
      const endMs = Date.now() + seconds * 1000;
      let last: ViewerStats | undefined;
      while (Date.now() < endMs) {
        await vPage.waitForTimeout(250);
        last = await vPage.evaluate(() => (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast.stats());
        if (last.latencyMs !== null && Number.isFinite(last.latencyMs)) latencies.push(last.latencyMs);
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const ttff = last?.timeToFirstFrameMs ?? playingAfterMs;
      rows.push([
        String(run),
        String(seconds),
        String(latencies.length),
        quantile(sorted, 0.5).toFixed(0),
        quantile(sorted, 0.95).toFixed(0),
        (sorted.at(-1) ?? Number.NaN).toFixed(0),
        ttff.toFixed(0),
        String(last?.stalls ?? 'n/a'),
      ]);
      await broadcaster.close();
      await viewer.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const header = ['run', 'seconds', 'samples', 'latency p50 ms', 'latency p95 ms', 'latency max ms', 'first frame ms', 'stalls'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padStart(widths[i]!)).join(' | ') + ' |';
  console.log(`\nSwarmcast latency bench — test source 1280x720@30, loopback, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const row of rows) console.log(line(row));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
