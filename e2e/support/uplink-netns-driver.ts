// Run inside a fresh network namespace (`unshare -n`, namespace A): puts a Chromium broadcaster in a namespace B that
// reaches the server in A through a router namespace R whose link towards A is rate-limited with tbf, and a Chromium
// viewer next to the server in A; throttles the uplink, lifts it, and prints one `RESULT {json}` line for
// e2e/uplink-adaptation.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BroadcasterStats } from '../../client/broadcaster/index.ts';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { holdNamespace, inNs, ip, launchInB, link, linkNames } from './netns-topology.ts';
import { startServer, type RunningServer } from './server.ts';
import {
  NAMESPACE_LINE,
  ROUTER_SERVER_VETH,
  SERVER_ADDRESS,
  type UplinkResult,
  type UplinkSample,
} from './uplink-netns.ts';

const STREAM = 'uplink';
const SAMPLE_MS = 500;
/** Below the default ladder's 4.2 Mbit/s (720p 2.5 + 480p 1.2 + 240p 0.4 + audio), above 480p + 240p + audio. */
const TBF = ['rate', '2mbit', 'burst', '32kbit', 'latency', '400ms'];
const LIVE_TIMEOUT_MS = 30_000;
const PAUSE_TIMEOUT_MS = 30_000;
const RESTORE_TIMEOUT_MS = 45_000;
/** Media the viewer plays after the top rung paused, with the uplink still throttled. */
const THROTTLED_PLAY_S = 6;
const PART_POLL_MS = 100;

/** What a sample reads of the broadcaster page's `window.swarmcast.stats()`. */
type SampledStats = Pick<
  BroadcasterStats,
  'state' | 'rungs' | 'uplinkKbps' | 'uplinkRttMs' | 'bufferedBytes' | 'channelBufferedBytes' | 'audioChunksSent' | 'inFlightBytes'
>;

async function sample(broadcaster: Page, viewer: Page, atMs: number, throttled: boolean): Promise<UplinkSample> {
  const [b, v, topRowState] = await Promise.all([
    broadcaster.evaluate(() => (window as unknown as { swarmcast: { stats(): SampledStats } }).swarmcast.stats()),
    viewer.evaluate(() => (window as unknown as { swarmcast: { stats(): UplinkSample['viewer'] } }).swarmcast.stats()),
    broadcaster.evaluate(() => document.querySelector('#rungs tr:first-child td:nth-child(2)')?.textContent ?? ''),
  ]);
  return {
    atMs,
    throttled,
    broadcasterState: b.state,
    rungs: b.rungs.map(({ rendition, level, levelReason, bitrateKbps, sendKbps }) => ({ rendition, level, levelReason, bitrateKbps, sendKbps })),
    topRowState,
    uplinkKbps: b.uplinkKbps,
    uplinkRttMs: b.uplinkRttMs,
    bufferedBytes: b.bufferedBytes,
    channelBufferedBytes: b.channelBufferedBytes,
    audioChunksSent: b.audioChunksSent,
    inFlightBytes: b.inFlightBytes ?? null,
    viewer: { state: v.state, decodedFrames: v.decodedFrames, currentTime: v.currentTime, stalls: v.stalls, rendition: v.rendition, bufferMs: v.bufferMs, latencyMs: v.latencyMs },
  };
}

/**
 * Polls the lowest rung's media playlist and records when its newest part changes (`at()` gives the time), until
 * `stop()`: a part is there once the ingest has received its video and audio.
 */
function watchLowestParts(baseUrl: string, at: () => number): { stop(): Promise<number[]> } {
  const seen: number[] = [];
  let stopped = false;
  const loop = (async (): Promise<void> => {
    const multivariant = await (await fetch(`${baseUrl}/live/${STREAM}/index.m3u8`)).text();
    const lines = multivariant.split('\n');
    const variants = lines.flatMap((l, i) => (l.startsWith('#EXT-X-STREAM-INF:') ? [{ bandwidth: Number(/BANDWIDTH=(\d+)/.exec(l)?.[1]), uri: lines[i + 1]! }] : []));
    const lowest = new URL(variants.sort((a, b) => a.bandwidth - b.bandwidth)[0]!.uri, `${baseUrl}/live/${STREAM}/index.m3u8`);
    let last = '';
    while (!stopped) {
      const playlist = await (await fetch(lowest)).text();
      const newest = playlist.split('\n').filter((l) => l.startsWith('#EXT-X-PART:')).at(-1) ?? '';
      if (newest !== last) {
        last = newest;
        seen.push(at());
      }
      await new Promise((resolve) => setTimeout(resolve, PART_POLL_MS));
    }
  })();
  // Rethrown by stop(); not an unhandled rejection meanwhile.
  loop.catch(() => undefined);
  return {
    async stop() {
      stopped = true;
      await loop;
      return seen;
    },
  };
}

async function run(): Promise<UplinkResult> {
  const linksBefore = linkNames();
  // Refuse to touch a namespace that is not fresh: run on the host by mistake, this would add links to the machine.
  if (linksBefore.join() !== 'lo') throw new Error(`not a fresh network namespace (links: ${linksBefore.join(', ')}); run me under unshare -n`);
  const holders = [await holdNamespace(), await holdNamespace()];
  const [rPid, bPid] = holders.map((h) => h.pid!) as [number, number];
  process.stdout.write(`${NAMESPACE_LINE}${rPid}\n${NAMESPACE_LINE}${bPid}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'swarmcast-uplink-'));
  let server: RunningServer | undefined;
  const browsers: Browser[] = [];
  try {
    link(rPid, bPid);
    const routes = (text: string): string[] => text.split('\n').filter(Boolean);
    const routesA = routes(ip('route', 'show', 'table', 'all'));
    const routesR = routes(inNs(rPid, 'ip', 'route', 'show', 'table', 'all'));
    const routesB = routes(inNs(bPid, 'ip', 'route', 'show', 'table', 'all'));
    // HTTP on every address of namespace A (lo and its veth end only); ICE on the veth end, which B reaches.
    server = await startServer({ HOST: '0.0.0.0', PUBLISH_AUTH: 'off', ICE_BIND_ADDRESS: SERVER_ADDRESS });
    const port = new URL(server.baseUrl).port;
    const origin = `http://${SERVER_ADDRESS}:${port}`;
    const castBrowser = await launchInB(bPid, dir, origin);
    browsers.push(castBrowser);
    const viewBrowser = await launchChromium();
    browsers.push(viewBrowser);

    const broadcaster = await (await castBrowser.newContext()).newPage();
    const startedAt = Date.now();
    // The broadcaster's own account of its steps, with the time, for whoever reads a failure.
    broadcaster.on('console', (message) => {
      if (message.text().startsWith('swarmcast:')) process.stderr.write(`${Date.now() - startedAt} ms: ${message.text()}\n`);
    });
    await broadcaster.goto(`${origin}/broadcast?stream=${STREAM}&source=test&autostart=1`);
    await broadcaster.waitForSelector('body[data-state="live"]', { timeout: LIVE_TIMEOUT_MS });
    const viewer = await (await viewBrowser.newContext()).newPage();
    await viewer.goto(`http://localhost:${port}/watch?stream=${STREAM}`);

    const samples: UplinkSample[] = [];
    let throttledAt = Number.NaN;
    const parts = watchLowestParts(`http://localhost:${port}`, () => (Number.isNaN(throttledAt) ? -1 : Date.now() - throttledAt));
    let throttled = false;
    const look = async (): Promise<UplinkSample> => {
      const s = await sample(broadcaster, viewer, Number.isNaN(throttledAt) ? -1 : Date.now() - throttledAt, throttled);
      samples.push(s);
      const rungs = s.rungs.map((r) => `${r.rendition} ${r.level} ${r.bitrateKbps}/${r.sendKbps}`).join(', ');
      process.stderr.write(`${Date.now() - startedAt} ms: ${s.throttled ? 'tbf ' : ''}${rungs}; rtt ${s.uplinkRttMs} q ${s.bufferedBytes}; viewer ${s.viewer.rendition} ${s.viewer.decodedFrames} frames, buffer ${s.viewer.bufferMs}, latency ${s.viewer.latencyMs}, ${s.viewer.stalls} stalls\n`);
      return s;
    };
    const until = async (done: (s: UplinkSample) => boolean, timeoutMs: number, what: string): Promise<UplinkSample> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await look();
        if (done(s)) return s;
        if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(s)}`);
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      }
    };

    // Every rung sending at full rate and the viewer playing, before the uplink is throttled.
    await until((s) => s.viewer.state === 'playing' && s.viewer.decodedFrames > 30 && s.rungs.every((r) => r.level === 'full' && r.sendKbps > 0), LIVE_TIMEOUT_MS, 'playing with every rung sending');

    inNs(rPid, 'tc', 'qdisc', 'add', 'dev', ROUTER_SERVER_VETH, 'root', 'tbf', ...TBF);
    const qdisc = inNs(rPid, 'tc', 'qdisc', 'show', 'dev', ROUTER_SERVER_VETH).trim();
    throttledAt = Date.now();
    throttled = true;
    const paused = await until((s) => s.rungs[0]?.level === 'paused', PAUSE_TIMEOUT_MS, 'the top rung paused');
    await until((s) => s.viewer.currentTime >= paused.viewer.currentTime + THROTTLED_PLAY_S, (THROTTLED_PLAY_S / 0.5) * 1000, 'playing on while throttled');

    inNs(rPid, 'tc', 'qdisc', 'del', 'dev', ROUTER_SERVER_VETH, 'root');
    throttled = false;
    const liftedAtMs = Date.now() - throttledAt;
    await until((s) => s.rungs.every((r) => r.level === 'full') && (s.rungs[0]?.sendKbps ?? 0) > 0, RESTORE_TIMEOUT_MS, 'every rung back to full');
    const restored = samples.at(-1)!;
    await until((s) => s.viewer.currentTime >= restored.viewer.currentTime + 2, 5000, 'playing on after the restore');

    const lowestPartAtMs = await parts.stop();
    const first = (pred: (s: UplinkSample) => boolean, from = 0): number | null => samples.find((s) => s.atMs >= from && pred(s))?.atMs ?? null;
    const resumed = first((s) => s.rungs[0]?.level !== 'paused', liftedAtMs);
    const full = first((s) => s.rungs.every((r) => r.level === 'full'), liftedAtMs);
    return {
      linksBefore,
      routesA,
      routesR,
      routesB,
      qdisc,
      samples,
      loweredAfterMs: first((s) => s.throttled && s.rungs[0]?.level === 'lowered'),
      pausedAfterMs: first((s) => s.rungs[0]?.level === 'paused'),
      liftedAtMs,
      resumedAfterLiftMs: resumed === null ? null : resumed - liftedAtMs,
      fullAfterLiftMs: full === null ? null : full - liftedAtMs,
      lowestPartAtMs,
      serverLog: server.logLines.slice(-40),
    };
  } finally {
    for (const browser of browsers) await browser.close().catch((err: unknown) => process.stderr.write(`closing a browser failed: ${String(err)}\n`));
    await server?.stop();
    for (const holder of holders) holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

run().then(
  (result) => {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`uplink-netns-driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
