// A viewer under a scripted bandwidth trace (Chromium network emulation through CDP), sampled in the page, and the
// figures the ABR e2e test and the ABR bench read from it: switch times, stalls, rendered bitrate, latency.
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';

/** The three-rung ladder the ABR test and bench publish (node-publisher.ts), and each rung's video bitrate by name. */
export const ABR_LADDER = [
  { rendition: '720p', width: 1280, height: 720, videoBitrate: 2_500_000 },
  { rendition: '480p', width: 854, height: 480, videoBitrate: 1_000_000 },
  { rendition: '240p', width: 426, height: 240, videoBitrate: 300_000 },
] as const;
export const ABR_LADDER_BITRATES: Readonly<Record<string, number>> = Object.fromEntries(ABR_LADDER.map((r) => [r.rendition, r.videoBitrate]));

/** The part of the viewer page's `window.swarmcast.stats()` a trace reads. */
export interface AbrStats {
  state: string;
  rendition: string | null;
  stalls: number;
  switches: number;
  bandwidthEstimateBps: number | null;
  latencyMs: number | null;
  bufferMs: number;
}

export interface AbrSample extends AbrStats {
  /** Wall-clock time of the sample (the page and this process share the machine's clock). */
  atMs: number;
}

/** Samples taken this often in the page itself (no round trip per sample). */

/** What `AbrViewer.waitFor` waits for: every field given must hold (`renditionNot`: playing a rendition, not this one). */
interface StatsCondition {
  rendition?: string;
  renditionNot?: string;
  latencyBelowMs?: number;
}
const SAMPLE_INTERVAL_MS = 100;

export class AbrViewer {
  readonly page: Page;
  readonly #context: BrowserContext;
  readonly #cdp: CDPSession;

  private constructor(context: BrowserContext, page: Page, cdp: CDPSession) {
    this.#context = context;
    this.page = page;
    this.#cdp = cdp;
  }

  /** Opens the watch page for `stream` with `abr` in a fresh context, waiting until it plays. */
  static async open(browser: Browser, baseUrl: string, stream: string, abr: 'streamed' | 'hls.js'): Promise<AbrViewer> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('[viewer]', err));
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await page.goto(`${baseUrl}/watch?stream=${stream}&abr=${abr}`);
    await page.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    return new AbrViewer(context, page, cdp);
  }

  /** Limits the page's HTTP download rate to `bps` (null: no limit). */
  async throttle(bps: number | null): Promise<void> {
    const down = bps === null ? -1 : bps / 8;
    await this.#cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: down, uploadThroughput: -1 });
  }

  stats(): Promise<AbrStats> {
    return this.page.evaluate(() => (window as unknown as { swarmcast: { stats(): AbrStats } }).swarmcast.stats());
  }

  /**
   * Waits (polling in the page) until the stats meet `want`; ms it took. A condition as data, not code: the pages'
   * Content-Security-Policy refuses string evaluation, which a predicate given as source text would need.
   */
  async waitFor(want: StatsCondition, timeoutMs: number): Promise<number> {
    const start = Date.now();
    await this.page.waitForFunction(
      (w) => {
        const s = (window as unknown as { swarmcast: { stats(): AbrStats } }).swarmcast.stats();
        if (w.rendition !== undefined && s.rendition !== w.rendition) return false;
        if (w.renditionNot !== undefined && (s.rendition === null || s.rendition === w.renditionNot)) return false;
        if (w.latencyBelowMs !== undefined && (s.latencyMs === null || s.latencyMs >= w.latencyBelowMs)) return false;
        return true;
      },
      want,
      { timeout: timeoutMs, polling: SAMPLE_INTERVAL_MS },
    );
    return Date.now() - start;
  }

  /** Starts recording stats every 100 ms in the page; `samples()` returns what was recorded since. */
  async startSampling(): Promise<void> {
    await this.page.evaluate((intervalMs) => {
      const w = window as unknown as { swarmcast: { stats(): AbrStats }; __abrSamples: AbrSample[]; __abrTimer?: number };
      clearInterval(w.__abrTimer);
      w.__abrSamples = [];
      w.__abrTimer = setInterval(() => w.__abrSamples.push({ atMs: Date.now(), ...w.swarmcast.stats() }), intervalMs) as unknown as number;
    }, SAMPLE_INTERVAL_MS);
  }

  /** The samples recorded since `startSampling()`, and one taken now. */
  samples(): Promise<AbrSample[]> {
    return this.page.evaluate(() => {
      const w = window as unknown as { swarmcast: { stats(): AbrStats }; __abrSamples: AbrSample[] };
      return [...w.__abrSamples, { atMs: Date.now(), ...w.swarmcast.stats() }];
    });
  }

  close(): Promise<void> {
    return this.#context.close();
  }
}

/** A change of the link during a trace: from `atMs` (wall clock) on, the download limit is `bps` (null: none). */
export interface LinkChange {
  atMs: number;
  bps: number | null;
}

export interface TraceSummary {
  /** Drop of the limit → first sample playing a lower rung than before it, ms; null if it never did. */
  downMs: number | null;
  /** Lift (or rise) of the limit → first sample back on the rung played before the drop, ms; null if it never was. */
  upMs: number | null;
  stalls: number;
  /** Mean over the samples of the playing rung's bitrate, bits per second. */
  renderedBps: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  switches: number;
}

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

/**
 * The trace's figures from its samples: `drop` and `rise` are the link changes down and back up, `bitrates` each
 * rendition's bitrate (for the rendered bitrate and to rank rungs).
 */
export function summarizeTrace(samples: readonly AbrSample[], drop: LinkChange, rise: LinkChange, bitrates: Readonly<Record<string, number>>): TraceSummary {
  const rate = (s: AbrSample): number => (s.rendition === null ? 0 : (bitrates[s.rendition] ?? 0));
  const before = samples.filter((s) => s.atMs <= drop.atMs).at(-1) ?? samples[0];
  const topBps = before ? rate(before) : 0;
  const firstAfter = (fromMs: number, ok: (s: AbrSample) => boolean): number | null => {
    const hit = samples.find((s) => s.atMs >= fromMs && ok(s));
    return hit ? hit.atMs - fromMs : null;
  };
  const playing = samples.filter((s) => s.rendition !== null);
  const latencies = samples.flatMap((s) => (s.latencyMs === null ? [] : [s.latencyMs]));
  const first = samples[0];
  const last = samples.at(-1);
  return {
    downMs: firstAfter(drop.atMs, (s) => s.rendition !== null && rate(s) < topBps),
    upMs: firstAfter(rise.atMs, (s) => rate(s) >= topBps),
    stalls: first && last ? last.stalls - first.stalls : 0,
    renderedBps: playing.reduce((sum, s) => sum + rate(s), 0) / Math.max(1, playing.length),
    latencyP50Ms: quantile(latencies, 0.5),
    latencyP95Ms: quantile(latencies, 0.95),
    switches: first && last ? last.switches - first.switches : 0,
  };
}
