// Bench part: one broadcaster × viewer browser pair after another on the same server, each watched for a short run:
// glass-to-glass p50/p95, the broadcaster's encode latency, stalls, frames shown. One column per pair.
import { BROADCASTER_KINDS, launchBrowser, type BrowserKind, type MatrixBrowser, type MatrixPage } from '../support/browser-matrix.ts';
import { INSTALL_PLAYBACK_TAP, READ_PLAYBACK_TAP, type PlaybackTap } from '../support/playback-tap.ts';
import type { RunningServer } from '../support/server.ts';
import { pollUntil } from '../support/poll.ts';

export type BrowserPair = readonly [broadcaster: (typeof BROADCASTER_KINDS)[number], viewer: BrowserKind];

/** Every broadcaster (Chromium, Firefox) with every viewer (WebKit cannot broadcast: Debian builds it without WebRTC). */
export const BENCH_PAIRS: readonly BrowserPair[] = [
  ['chromium', 'chromium'],
  ['firefox', 'chromium'],
  ['chromium', 'firefox'],
  ['firefox', 'firefox'],
  ['chromium', 'webkit'],
  ['firefox', 'webkit'],
];

const SAMPLE_INTERVAL_MS = 250;
const LIVE_TIMEOUT_MS = 30_000;
const PLAYING_TIMEOUT_MS = 30_000;

interface PairSample {
  latencyMs: number | null;
  stalls: number;
  decodedFrames: number;
  tap: PlaybackTap | null;
}

interface BroadcasterSample {
  state: string;
  error: string | null;
  encodeLatencyMs: number | null;
  bytesSent: number;
  timeLiveMs: number;
  videoCodec: string | null;
}

/** One pair's numbers, or why it could not be measured. */
export type PairResult =
  | {
      pair: BrowserPair;
      ok: true;
      timeToPlayingMs: number;
      latencies: number[];
      encodeLatencies: number[];
      stalls: number;
      framesPerSecond: number;
      kbps: number;
      videoCodec: string | null;
    }
  | { pair: BrowserPair; ok: false; error: string };

const VIEWER_SAMPLE = `(() => {
  const s = window.swarmcast.stats();
  return { latencyMs: s.latencyMs, stalls: s.stalls, decodedFrames: s.decodedFrames, tap: ${READ_PLAYBACK_TAP} };
})()`;

/** WebKit's totalVideoFrames restarts at every pipeline flush; the tap counts presented frames there instead. */
const framesShown = (s: PairSample): number => s.tap?.presentedFrames ?? s.decodedFrames;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

async function measurePair(
  browsers: Map<BrowserKind, MatrixBrowser>,
  server: RunningServer,
  pair: BrowserPair,
  seconds: number,
): Promise<PairResult> {
  const [from, to] = pair;
  const stream = `bench-${from}-${to}`;
  const pages: MatrixPage[] = [];
  try {
    const broadcaster = await browsers.get(from)!.newPage();
    pages.push(broadcaster);
    const broadcasterSample = (): Promise<BroadcasterSample> => broadcaster.evaluate('window.swarmcast.stats()');
    await broadcaster.goto(`${server.baseUrl}/broadcast?stream=${stream}&source=test&autostart=1`);
    const live = await pollUntil(broadcasterSample, (s) => s.state === 'live' || s.state === 'error', LIVE_TIMEOUT_MS, 'broadcaster live');
    if (live.state !== 'live') throw new Error(`broadcaster: ${live.error}`);

    const viewer = await browsers.get(to)!.newPage();
    pages.push(viewer);
    const navigatedAt = Date.now();
    await viewer.goto(`${server.baseUrl}/watch?stream=${stream}`);
    await viewer.waitForSelector('body[data-state="playing"]', PLAYING_TIMEOUT_MS);
    const timeToPlayingMs = Date.now() - navigatedAt;
    if (to === 'webkit') await viewer.evaluate(INSTALL_PLAYBACK_TAP);

    const viewerSample = (): Promise<PairSample> => viewer.evaluate(VIEWER_SAMPLE);
    const first = await viewerSample();
    const sentBefore = await broadcasterSample();
    const startedAt = Date.now();
    const latencies: number[] = [];
    const encodeLatencies: number[] = [];
    let last = first;
    for (let tick = 1; Date.now() - startedAt < seconds * 1000; tick++) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
      last = await viewerSample();
      if (last.latencyMs !== null) latencies.push(last.latencyMs);
      // The broadcaster's figure is already a 3 s median: one read a second is enough.
      if (tick % 4 === 0) {
        const sent = await broadcasterSample();
        if (sent.encodeLatencyMs !== null) encodeLatencies.push(sent.encodeLatencyMs);
      }
    }
    const wallS = (Date.now() - startedAt) / 1000;
    const sent = await broadcasterSample();
    return {
      pair,
      ok: true,
      timeToPlayingMs,
      latencies,
      encodeLatencies,
      stalls: last.stalls - first.stalls,
      framesPerSecond: (framesShown(last) - framesShown(first)) / wallS,
      kbps: ((sent.bytesSent - sentBefore.bytesSent) * 8) / (sent.timeLiveMs - sentBefore.timeLiveMs),
      videoCodec: sent.videoCodec,
    };
  } catch (err) {
    return { pair, ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    for (const page of pages.reverse()) await page.close().catch(() => undefined);
  }
}

/** Measures `pairs` one after another, each for `seconds`, launching each browser kind once. */
export async function benchBrowserPairs(server: RunningServer, seconds: number, pairs: readonly BrowserPair[] = BENCH_PAIRS): Promise<PairResult[]> {
  const kinds = [...new Set(pairs.flat())];
  const browsers = new Map<BrowserKind, MatrixBrowser>();
  try {
    for (const kind of kinds) browsers.set(kind, await launchBrowser(kind));
    const results: PairResult[] = [];
    for (const pair of pairs) results.push(await measurePair(browsers, server, pair, seconds));
    return results;
  } finally {
    await Promise.all([...browsers.values()].map((b) => b.close().catch(() => undefined)));
  }
}

const ms = (value: number): string => (Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');

/** Rows of measures, one column per pair; a pair that could not be measured shows `failed`, its error in `failures`. */
export function pairColumns(results: PairResult[], seconds: number): { header: string[]; rows: string[][]; failures: string[] } {
  const header = [`measure (${seconds} s per pair)`, ...results.map((r) => `${r.pair[0]} → ${r.pair[1]}`)];
  const cell = (f: (r: Extract<PairResult, { ok: true }>) => string) => results.map((r) => (r.ok ? f(r) : 'failed'));
  const rows: string[][] = [
    ['glass-to-glass p50', ...cell((r) => ms(quantile(r.latencies, 0.5)))],
    ['glass-to-glass p95', ...cell((r) => ms(quantile(r.latencies, 0.95)))],
    ['encode latency p50 (broadcaster)', ...cell((r) => ms(quantile(r.encodeLatencies, 0.5)))],
    ['stalls', ...cell((r) => String(r.stalls))],
    ['frames shown per s (of 30)', ...cell((r) => r.framesPerSecond.toFixed(1))],
    ['navigation → playing', ...cell((r) => ms(r.timeToPlayingMs))],
    ['sent kbit/s (every rung encoded + 128 audio)', ...cell((r) => String(Math.round(r.kbps)))],
    ['video codec', ...cell((r) => r.videoCodec ?? 'n/a')],
  ];
  const failures = results.flatMap((r) => (r.ok ? [] : [`${r.pair[0]} → ${r.pair[1]} failed: ${r.error}`]));
  return { header, rows, failures };
}
