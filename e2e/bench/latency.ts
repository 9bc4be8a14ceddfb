// Bench: glass-to-glass latency, time to first frame, stalls and where the time goes, on this machine (not a test).
// Broadcaster and viewers run in one Chromium on one clock: latency = viewer's Date.now() − PDT of the frame on screen,
// and the PDT is the capture time of that frame. `npm run bench` (BENCH_SECONDS, default 60);
// soak: `npm run bench -- soak` or BENCH_SOAK_MINUTES=30 reports latency and stalls per minute, and drift;
// BENCH_SOAK_PATH=edge: the measured viewers watch through a built-in edge (ROLE=edge) in front of the server (default direct).
// Then one column per broadcaster × viewer browser pair (BENCH_PAIR_SECONDS each, default 20; browser-pairs.ts);
// `npm run bench -- browsers` runs the pairs alone, a soak runs without them.
// `npm run bench -- encode`: the cost of encoding a ladder of 1–4 rungs in Chromium (encode-cost.ts; BENCH_ENCODE_SECONDS, default 20).
// `npm run bench -- abr`: ABR on a 6 → 1.5 → 6 Mbit/s trace, the player's and hls.js's side by side (abr.ts; BENCH_ABR_STEP_SECONDS, default 20).
// `npm run bench -- embed-size`: the embeddable player's download size, hls.js and the project's own code apart (embed-size.ts).
// `npm run bench -- ingest-cost`: origin CPU per media second by ingest path beside ffmpeg's remux (ingest-cost.ts; BENCH_INGEST_SECONDS, default 30);
// `npm run bench -- ingest-ramp`: concurrent 2.5 Mbit/s publishers one origin holds (BENCH_RAMP_PATH rtmp|datachannel, BENCH_RAMP_STEPS, default 1,2,4,8,12,16,24,32).
// `npm run bench -- transcode`: origin transcoding's worker CPU per rung, added delay, and transcoded streams one machine holds (transcode.ts; BENCH_TRANSCODE_SECONDS, default 15; BENCH_TRANSCODE_STEPS, default 1,2,4,6,8,10).
// `npm run bench -- conditions`: latency, stalls, first frame, settled target and requests/s behind emulated networks (jitter,
// loss, a 3 Mbit/s cap), direct / built-in edge / nginx, in a network namespace (conditions.ts; BENCH_CONDITIONS,
// BENCH_PATHS filter by name, BENCH_CONDITIONS_SECONDS per row, default 30; BENCH_TARGET_MS passed on as &target=).
// `npm run bench -- p2p`: low vs p2p mode for 4 and 8 viewers in a network namespace (p2p.ts; BENCH_P2P_VIEWERS, default 4,8; BENCH_P2P_SECONDS, default 40).
import { cpus, loadavg, totalmem } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { abrTable, benchAbrTrace } from './abr.ts';
import { benchBrowserPairs, pairColumns } from './browser-pairs.ts';
import { benchConditions, conditionsRunFromEnv, conditionsTable } from './conditions.ts';
import { embedSizeTable, measureEmbedSize } from './embed-size.ts';
import { benchP2p, p2pTable } from './p2p.ts';
import { benchEncodeCost, encodeCostTable } from './encode-cost.ts';
import { benchIngestCost, benchPublishersPerProcess, ingestCostTable, rampTable } from './ingest-cost.ts';
import { benchTranscode, transcodeTables } from './transcode.ts';
import { startServer } from '../support/server.ts';
import type { RunningServer } from '../support/server.ts';

/** The part of the viewer page's `window.swarmcast.stats()` the bench reads. */
interface ViewerStats {
  state: string;
  latencyMs: number | null;
  targetLatencyMs: number | null;
  deliveryMs: number | null;
  bufferMs: number;
  stalls: number;
  playbackRate: number;
  timeToFirstFrameMs: number | null;
  startup: Record<string, number | null>;
}

interface Sample {
  /** Wall-clock time of the sample. */
  atMs: number;
  latencyMs: number;
  deliveryMs: number | null;
  stalls: number;
}

/** Viewers opened one after another on the live stream to measure time to first frame. */
const JOIN_VIEWERS = 5;
/** How long the viewer that joins at go-live is watched for stalls before the measured viewer opens. */
const COLD_WATCH_MS = 10_000;
const SAMPLE_INTERVAL_MS = 250;
const SOAK_WINDOW_MS = 60_000;
const soakPath = process.env.BENCH_SOAK_PATH ?? 'direct';
const conditionsOnly = process.argv.includes('conditions');

const soakArg = process.argv.includes('soak');
const soakMinutes = process.env.BENCH_SOAK_MINUTES ? Number(process.env.BENCH_SOAK_MINUTES) : soakArg ? 30 : 0;
const seconds = soakMinutes > 0 ? soakMinutes * 60 : Number(process.env.BENCH_SECONDS ?? 60);
const pairsOnly = process.argv.includes('browsers');
/** `npm run bench -- latency`: the Chromium latency table alone, without the browser pairs. */
const latencyOnly = process.argv.includes('latency');
/** The measured viewers' `&target=` (ms), the floor of the glass-to-glass target they hold; unset: the player's default. */
const targetMs = process.env.BENCH_TARGET_MS ? Number(process.env.BENCH_TARGET_MS) : null;
const pairSeconds = Number(process.env.BENCH_PAIR_SECONDS ?? 20);
const encodeOnly = process.argv.includes('encode');
const encodeSeconds = Number(process.env.BENCH_ENCODE_SECONDS ?? 20);
const abrOnly = process.argv.includes('abr');
const abrStepSeconds = Number(process.env.BENCH_ABR_STEP_SECONDS ?? 20);
const embedSizeOnly = process.argv.includes('embed-size');
const p2pOnly = process.argv.includes('p2p');
const p2pViewers = (process.env.BENCH_P2P_VIEWERS ?? '4,8').split(',').map(Number);
const p2pSeconds = Number(process.env.BENCH_P2P_SECONDS ?? 40);
const ingestCostOnly = process.argv.includes('ingest-cost');
const ingestSeconds = Number(process.env.BENCH_INGEST_SECONDS ?? 30);
const ingestRampOnly = process.argv.includes('ingest-ramp');
const rampPath = process.env.BENCH_RAMP_PATH ?? 'rtmp';
const rampSteps = (process.env.BENCH_RAMP_STEPS ?? '1,2,4,8,12,16,24,32').split(',').map(Number);
const rampSeconds = Number(process.env.BENCH_RAMP_SECONDS ?? 20);
const rampMaxLagMs = Number(process.env.BENCH_RAMP_MAX_LAG_MS ?? 1000);
const transcodeOnly = process.argv.includes('transcode');
const transcodeSeconds = Number(process.env.BENCH_TRANSCODE_SECONDS ?? 15);
const transcodeSteps = (process.env.BENCH_TRANSCODE_STEPS ?? '1,2,4,6,8,10').split(',').map(Number);
/**
 * The browser-ladder path's origin cost (data channel, 720p/480p/240p at 2.5/1/0.3 Mbit/s + Opus), ms of CPU per media
 * second: the ingest-cost bench's run of 2026-11-30 (README, "Cost per stream"), quoted rather than rerun (it takes minutes).
 */
const BROWSER_LADDER_COST = { totalMsPerS: 32.5, packagingMsPerS: 1.8 };

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

const ms = (value: number): string => (Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');

/**
 * Runs in the viewer page before any of its scripts: records when the first video frame is presented (ms since
 * navigation), on the video in the <swarmcast-player>'s shadow root, looked for at every animation frame until the
 * page's module has created the element. Plain text, not a function, so the bench's TypeScript transform cannot add
 * helpers the page lacks.
 */
const RECORD_FIRST_FRAME = `
  document.addEventListener('DOMContentLoaded', function watch() {
    const video = document.querySelector('swarmcast-player')?.shadowRoot?.querySelector('video');
    if (!video) return void requestAnimationFrame(watch);
    video.requestVideoFrameCallback(() => (window.__firstFrameMs ??= performance.now()));
  });
`;

async function openViewer(browser: Browser, server: RunningServer, stream: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (err) => console.error('[viewer]', err));
  await page.addInitScript({ content: RECORD_FIRST_FRAME });
  await page.goto(`${server.baseUrl}/watch?stream=${stream}${targetMs === null ? '' : `&target=${targetMs}`}`);
  return page;
}

function viewerStats(page: Page): Promise<ViewerStats> {
  return page.evaluate(() => (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast.stats());
}

/** Navigation → first presented frame, and the player's own load() → first frame with its milestones. */
async function timeToFirstFrame(page: Page): Promise<{ fromNavigationMs: number; player: ViewerStats }> {
  const handle = await page.waitForFunction(() => (window as unknown as { __firstFrameMs?: number }).__firstFrameMs, null, {
    timeout: 30_000,
  });
  const fromNavigationMs = (await handle.jsonValue()) as number;
  await page.waitForFunction(
    () => (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast.stats().timeToFirstFrameMs !== null,
    null,
    { timeout: 10_000 },
  );
  return { fromNavigationMs, player: await viewerStats(page) };
}

/** Samples the viewer in the page itself (no round trip per sample) until `durationMs` has passed. */
function sampleLatency(page: Page, durationMs: number): Promise<Sample[]> {
  return page.evaluate(
    ({ durationMs, intervalMs }) =>
      new Promise<Sample[]>((done) => {
        const samples: Sample[] = [];
        const api = (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast;
        const end = Date.now() + durationMs;
        const timer = setInterval(() => {
          const stats = api.stats();
          if (stats.latencyMs !== null) samples.push({ atMs: Date.now(), latencyMs: stats.latencyMs, deliveryMs: stats.deliveryMs, stalls: stats.stalls });
          if (Date.now() >= end) {
            clearInterval(timer);
            done(samples);
          }
        }, intervalMs);
      }),
    { durationMs, intervalMs: SAMPLE_INTERVAL_MS },
  );
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  if (encodeOnly) return benchEncode();
  if (abrOnly) return benchAbr();
  if (embedSizeOnly) return benchEmbedSize();
  if (p2pOnly) return benchPeers();
  if (ingestCostOnly) return benchIngest();
  if (ingestRampOnly) return benchIngestRamp();
  if (transcodeOnly) return benchTranscodeCost();
  if (conditionsOnly) return benchNetworkConditions();
  const server = await startServer({ LOG_LEVEL: 'warn' });
  try {
    if (!pairsOnly) await benchChromium(server);
    if (soakMinutes === 0 && !latencyOnly) await benchPairs(server);
  } finally {
    await server.stop();
  }
}

async function benchEncode(): Promise<void> {
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' / ');
  const { results, chromium } = await benchEncodeCost(encodeSeconds);
  const { header, rows, verdicts, failures } = encodeCostTable(results);
  const cpu = cpus();
  console.log(
    `\nEncoding cost — test source 1280x720@30 in headless Chromium ${chromium}, one VideoEncoder per rung (realtime, keyframe every 2 s, ` +
      `a frame dropped when a rung's encoder holds > 2); ${encodeSeconds} s per row after warm-up; ${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores; ` +
      `load average ${loadBefore} before, ${loadavg().map((l) => l.toFixed(2)).join(' / ')} after`,
  );
  console.log(table(header, rows));
  for (const verdict of verdicts) console.log(`Ladder this machine sustains, ${verdict}`);
  for (const failure of failures) console.log(failure);
}

async function benchAbr(): Promise<void> {
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' / ');
  const { header, rows } = abrTable(await benchAbrTrace(abrStepSeconds));
  console.log(
    `\nABR at low latency — 3 rungs (720p 2.5 / 480p 1 / 240p 0.3 Mbit/s video + 64 kbit/s audio, node publisher), viewer in ` +
      `headless Chromium, download limited through CDP: 6 → 1.5 → 6 Mbit/s, ${abrStepSeconds} s per step; ` +
      `load average ${loadBefore} before, ${loadavg().map((l) => l.toFixed(2)).join(' / ')} after`,
  );
  console.log(table(header, rows));
}

async function benchPeers(): Promise<void> {
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' / ');
  const { header, rows } = p2pTable(await benchP2p(p2pViewers, p2pSeconds));
  console.log(
    `\nPeer-assisted delivery — one 240p rung (0.4 Mbit/s video + audio, 1 s segments, node publisher), Chromium and ` +
      `Firefox viewers alternating on /watch in a network namespace, ${p2pSeconds} s measured after all play; edge = a counting ` +
      `proxy in front of the origin; load average ${loadBefore} before, ${loadavg().map((l) => l.toFixed(2)).join(' / ')} after`,
  );
  console.log(table(header, rows));
}

async function benchIngest(): Promise<void> {
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' / ');
  const { rows, idleMs } = await benchIngestCost(ingestSeconds);
  const { header, rows: lines } = ingestCostTable(rows);
  const cpu = cpus();
  console.log(
    `\nCost per stream — origin (ROLE=all, no viewers) CPU per media second above its idle ${idleMs.toFixed(1)} ms/s, ${ingestSeconds} s per row ` +
      `after warm-up, from /proc/PID/stat; packaging = the packager and origin timelines fed the same wire messages in-process; ffmpeg = ` +
      `\`ffmpeg -re -stream_loop -1 -i SAME -c copy -f hls -hls_segment_type fmp4 -hls_time 1\` (one per rung); ${cpu[0]?.model ?? 'cpu'}, ` +
      `${cpu.length} cores, Node ${process.version}; load average ${loadBefore} before, ${loadavg().map((l) => l.toFixed(2)).join(' / ')} after`,
  );
  console.log(table(header, lines));
}

async function benchTranscodeCost(): Promise<void> {
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' / ');
  const { rows, capacity } = await benchTranscode(transcodeSeconds, transcodeSteps);
  const cpu = cpus();
  console.log(
    `\nOrigin transcoding — one ffmpeg-published RTMP stream (looped file, -c copy) per row, ${transcodeSeconds} s windows after warm-up, CPU from ` +
      `/proc/PID/stat; rung part delay from blocking playlist requests for the same part (15 parts); ${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores, ` +
      `Node ${process.version}; load average ${loadBefore} before, ${loadavg().map((l) => l.toFixed(2)).join(' / ')} after`,
  );
  for (const text of transcodeTables(rows, capacity, BROWSER_LADDER_COST)) console.log(`\n${text}`);
}

async function benchIngestRamp(): Promise<void> {
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' / ');
  const { header, rows, verdict } = rampTable(await benchPublishersPerProcess(rampPath, rampSteps, rampSeconds, rampMaxLagMs));
  console.log(
    `\nPublishers per origin process — ${rampPath === 'rtmp' ? 'ffmpeg RTMP publishers (-re -c copy, 720p H.264 2.5 Mbit/s + AAC)' : 'node publishers (720p H.264 2.5 Mbit/s + Opus over a data channel)'}, ` +
      `no viewers, ${rampSeconds} s per step; dropped media = a stream's playlist growing by more than ${rampMaxLagMs} ms less media than the window's ` +
      `wall time, its latest part ending more than ${rampMaxLagMs} ms before now (PDT), a GAP part, or a dropped publisher; load average ${loadBefore} before, ${loadavg().map((l) => l.toFixed(2)).join(' / ')} after`,
  );
  console.log(table(header, rows));
  console.log(verdict);
}

async function benchEmbedSize(): Promise<void> {
  const { header, rows, verdict } = embedSizeTable(await measureEmbedSize());
  console.log('\nEmbed size — <script src=HOST/embed.js> and what it imports (the production build; gzip -9, brotli q11; KB = 1000 bytes)');
  console.log(table(header, rows));
  console.log(verdict);
}

async function benchNetworkConditions(): Promise<void> {
  const run = conditionsRunFromEnv(process.env);
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' / ');
  const result = await benchConditions(run);
  const { header, rows } = conditionsTable(result.rows);
  const cpu = cpus();
  console.log(
    `\nLatency by network condition — test source 1280x720@30 from a Chromium broadcaster (publish unaffected), viewer in headless ` +
      `Chromium ${result.chromium} behind a delay proxy (jitter: each chunk held uniform 0…J ms each way, order kept), nft loss on the ` +
      `viewer's packets both ways and a tbf cap each way, in a network namespace whose lo is a 1500-byte link; ${run.seconds} s per row after ` +
      `the first frame${run.targetMs === null ? '' : `, &target=${run.targetMs}`}; g2g = viewer's Date.now() − PDT of the frame on screen; ` +
      `${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores; load average ${loadBefore} before, ${loadavg().map((l) => l.toFixed(2)).join(' / ')} after`,
  );
  console.log(table(header, rows));
}

async function benchPairs(server: RunningServer): Promise<void> {
  const results = await benchBrowserPairs(server, pairSeconds);
  const { header, rows, failures } = pairColumns(results, pairSeconds);
  console.log(`\nBrowser pairs — the same test source, one pair at a time on one server; load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} at the end`);
  console.log(table(header, rows));
  for (const failure of failures) console.log(failure);
}

/** The Chromium-only measurements: one broadcaster, a cold viewer, the measured viewer, then joins. */
async function benchChromium(server: RunningServer): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  const browser = await launchChromium();
  let edge: RunningServer | undefined;
  try {
    if (soakPath !== 'direct' && soakPath !== 'edge') throw new Error(`BENCH_SOAK_PATH must be direct or edge, got ${soakPath}`);
    // The broadcaster publishes to `server`, which is then the edge's origin as well (ROLE=all serves both).
    if (soakPath === 'edge') edge = await startServer({ ROLE: 'edge', LOG_LEVEL: 'warn', ORIGIN_URL: server.baseUrl });
    const viewers = edge ?? server;
    const stream = 'bench';
    const bPage = await (await browser.newContext()).newPage();
    bPage.on('pageerror', (err) => console.error('[broadcaster]', err));
    await bPage.goto(`${server.baseUrl}/broadcast?stream=${stream}&source=test&autostart=1`);
    await bPage.waitForSelector('body[data-state="live"]', { timeout: 30_000 });

    // A viewer who arrives as the broadcast goes live (its first segment is not complete yet) is reported apart.
    const cold = await openViewer(browser, viewers, stream);
    const coldJoin = await timeToFirstFrame(cold);
    await sampleLatency(cold, COLD_WATCH_MS);
    const coldStats = await viewerStats(cold);
    await cold.context().close();

    // The measured viewer joins the running broadcast and is sampled for the whole run.
    const viewer = await openViewer(browser, viewers, stream);
    await timeToFirstFrame(viewer);
    const samples = await sampleLatency(viewer, seconds * 1000);
    const final = await viewerStats(viewer);

    const joins: { fromNavigationMs: number; player: ViewerStats }[] = [];
    for (let i = 0; i < JOIN_VIEWERS; i++) {
      const page = await openViewer(browser, viewers, stream);
      joins.push(await timeToFirstFrame(page));
      await page.context().close();
    }

    const encodeLatencyMs = await bPage.evaluate(
      () => (window as unknown as { swarmcast: { stats(): { encodeLatencyMs: number | null } } }).swarmcast.stats().encodeLatencyMs,
    );
    const latencies = samples.map((s) => s.latencyMs);
    const deliveries = samples.flatMap((s) => (s.deliveryMs === null ? [] : [s.deliveryMs]));
    const buffers = samples.flatMap((s) => (s.deliveryMs === null ? [] : [s.latencyMs - s.deliveryMs]));
    const navTtff = joins.map((j) => j.fromNavigationMs);
    const playerTtff = joins.map((j) => j.player.timeToFirstFrameMs ?? Number.NaN);
    const milestone = (key: string): string => ms(quantile(joins.map((j) => j.player.startup[key] ?? Number.NaN), 0.5));

    const cpu = cpus();
    console.log(
      `\nSwarmcast latency bench — test source 1280x720@30 → loopback; ${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores, ` +
        `${(totalmem() / 2 ** 30).toFixed(0)} GiB, Chromium ${browser.version()}, Node ${process.version}; load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`,
    );
    const rows: string[][] = [
      ['run', `${seconds} s, ${latencies.length} samples every ${SAMPLE_INTERVAL_MS} ms${edge ? ', viewers through a built-in edge' : ''}`],
      ['target latency (held by the player)', ms(final.targetLatencyMs ?? Number.NaN)],
      ['glass-to-glass latency p50 / p95 / max', `${ms(quantile(latencies, 0.5))} / ${ms(quantile(latencies, 0.95))} / ${ms(Math.max(...latencies))}`],
      [`time to first frame, navigation → frame, p50 of ${JOIN_VIEWERS} joins (min–max)`, `${ms(quantile(navTtff, 0.5))} (${ms(Math.min(...navTtff))}–${ms(Math.max(...navTtff))})`],
      ['  of which player load() → frame, p50', ms(quantile(playerTtff, 0.5))],
      ['  player milestones p50: manifest / playlist / first part / first append / frame', ['manifestLoadedMs', 'playlistLoadedMs', 'firstPartLoadedMs', 'firstAppendMs', 'firstFrameMs'].map(milestone).join(' / ')],
      ['stalls (measured viewer, whole run)', String(final.stalls)],
      ['viewer opened as the broadcast goes live: first frame / stalls in its first 10 s', `${ms(coldJoin.fromNavigationMs)} / ${coldStats.stalls}`],
      ['breakdown p50: encode (capture → encoder output, top rung)', ms(encodeLatencyMs ?? Number.NaN)],
      ['breakdown p50: capture → part bytes at the viewer (delivery)', ms(quantile(deliveries, 0.5))],
      ['breakdown p50: player buffer (latency − delivery)', ms(quantile(buffers, 0.5))],
    ];
    if (soakMinutes > 0) {
      const windows: number[][] = [];
      const start = samples[0]?.atMs ?? 0;
      for (const s of samples) (windows[Math.floor((s.atMs - start) / SOAK_WINDOW_MS)] ??= []).push(s.latencyMs);
      const full = windows.filter((w) => w.length > 0);
      const first = full[0] ?? [];
      const last = full.at(-1) ?? [];
      rows.push(
        ['soak: first minute latency p50 / p95', `${ms(quantile(first, 0.5))} / ${ms(quantile(first, 0.95))}`],
        ['soak: last minute latency p50 / p95', `${ms(quantile(last, 0.5))} / ${ms(quantile(last, 0.95))}`],
        ['soak: drift (last − first minute p50)', ms(quantile(last, 0.5) - quantile(first, 0.5))],
        ['soak: worst minute p95', ms(Math.max(...full.map((w) => quantile(w, 0.95))))],
      );
    }
    console.log(table(['measure', 'value'], rows));
    if (soakMinutes > 0) {
      // Each minute's latency and the stalls that began in it (the player's count is cumulative).
      const minutes: Sample[][] = [];
      const start = samples[0]?.atMs ?? 0;
      for (const s of samples) (minutes[Math.floor((s.atMs - start) / SOAK_WINDOW_MS)] ??= []).push(s);
      let stallsBefore = samples[0]?.stalls ?? 0;
      const minuteRows = minutes.flatMap((minute, i) => {
        const latency = minute.map((s) => s.latencyMs);
        const stallsAfter = minute.at(-1)!.stalls;
        const row = [String(i + 1), ms(quantile(latency, 0.5)), ms(quantile(latency, 0.95)), ms(Math.max(...latency)), String(stallsAfter - stallsBefore)];
        stallsBefore = stallsAfter;
        return [row];
      });
      console.log(table(['minute', 'p50', 'p95', 'max', 'stalls'], minuteRows));
    }
  } finally {
    await browser.close();
    await edge?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
