// Run inside a fresh network namespace (`unshare -n`): shapes lo as a 1500-byte link, starts an origin (and the built-in
// edge and nginx in front of it when asked), goes live from a Chromium broadcaster, then for each path and condition
// opens a Chromium viewer behind an emulated link (netem-link.ts) and measures it; prints one `RESULT {json}` line for
// e2e/network-conditions.test.ts and `npm run bench -- conditions`.
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { mediaPlaylistUrl, playlistWithSegments } from './live-hls.ts';
import { emulateLink, shapeLoopback, tcpCounters } from './netem-link.ts';
import { NETEM_VETH, NETEM_VETH_ADDRESS, NETEM_VETH_PEER, type ConditionRow, type ConditionsResult, type ConditionsRun, type NetworkCondition, type ViewerPath } from './netem.ts';
import { linkNames, setUpSealedVeth } from './netns-links.ts';
import { startNginx, type RunningNginx } from './nginx.ts';
import { startServer, type RunningServer } from './server.ts';

const STREAM = 'netem';
const LIVE_TIMEOUT_MS = 30_000;
const FIRST_FRAME_TIMEOUT_MS = 30_000;
const SAMPLE_INTERVAL_MS = 250;

/** The part of the viewer page's `window.swarmcast.stats()` the driver reads. */
interface ViewerStats {
  state: string;
  latencyMs: number | null;
  targetLatencyMs: number | null;
  stalls: number;
  currentTime: number;
  timeToFirstFrameMs: number | null;
}

const startedAt = Date.now();
/** A progress line on stderr: the runner shows them when the driver fails or runs out of time. */
function step(message: string): void {
  process.stderr.write(`[netem-driver +${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${message}\n`);
}

function viewerStats(page: Page): Promise<ViewerStats> {
  return page.evaluate(() => (window as unknown as { swarmcast: { stats(): ViewerStats } }).swarmcast.stats());
}

/** Glass-to-glass samples taken in the page itself (no round trip per sample) until `durationMs` has passed. */
function sampleLatency(page: Page, durationMs: number): Promise<number[]> {
  return page.evaluate(
    ({ durationMs, intervalMs }) =>
      new Promise<number[]>((done) => {
        const samples: number[] = [];
        const api = (window as unknown as { swarmcast: { stats(): { latencyMs: number | null } } }).swarmcast;
        const end = Date.now() + durationMs;
        const timer = setInterval(() => {
          const { latencyMs } = api.stats();
          if (latencyMs !== null) samples.push(latencyMs);
          if (Date.now() >= end) {
            clearInterval(timer);
            done(samples);
          }
        }, intervalMs);
      }),
    { durationMs, intervalMs: SAMPLE_INTERVAL_MS },
  );
}

async function measureRow(browser: Browser, path: ViewerPath, targetUrl: string, condition: NetworkCondition, run: ConditionsRun): Promise<ConditionRow> {
  const link = await emulateLink(targetUrl, condition);
  const linkFrom = Date.now();
  const context = await browser.newContext();
  const tcpBefore = tcpCounters();
  const row: ConditionRow = {
    path,
    condition,
    error: null,
    latenciesMs: [],
    stalls: 0,
    timeToFirstFrameMs: null,
    targetLatencyMs: null,
    state: 'idle',
    playedSeconds: 0,
    measuredSeconds: 0,
    requests: { total: 0, playlists: 0, media: 0, other: 0 },
    heldDownMs: { min: 0, mean: 0, max: 0, late: 0, chunks: 0 },
    heldUpMs: { min: 0, mean: 0, max: 0, late: 0, chunks: 0 },
    packetsToProxy: 0,
    packetsFromProxy: 0,
    droppedToProxy: 0,
    droppedFromProxy: 0,
    tcpOutSegs: 0,
    tcpRetransSegs: 0,
    cappedBytesDown: 0,
    linkSeconds: 0,
  };
  try {
    const page = await context.newPage();
    page.on('pageerror', (err) => step(`[viewer ${path}/${condition.name}] ${err.message}`));
    const target = run.targetMs === null ? '' : `&target=${run.targetMs}`;
    try {
      await page.goto(`${link.proxy.baseUrl}/watch?stream=${STREAM}${target}`, { timeout: FIRST_FRAME_TIMEOUT_MS });
      await page.waitForFunction(
        () => (window as unknown as { swarmcast?: { stats(): { timeToFirstFrameMs: number | null } } }).swarmcast?.stats().timeToFirstFrameMs != null,
        null,
        { timeout: FIRST_FRAME_TIMEOUT_MS, polling: 50 },
      );
    } catch (err) {
      row.error = `no first frame: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      return row;
    }
    const requestsBefore = link.proxy.requests();
    const first = await viewerStats(page);
    const measuredFrom = Date.now();
    row.latenciesMs = await sampleLatency(page, run.seconds * 1000);
    const final = await viewerStats(page);
    row.measuredSeconds = (Date.now() - measuredFrom) / 1000;
    const requests = link.proxy.requests();
    row.requests = {
      total: requests.total - requestsBefore.total,
      playlists: requests.playlists - requestsBefore.playlists,
      media: requests.media - requestsBefore.media,
      other: requests.other - requestsBefore.other,
    };
    Object.assign(row, {
      stalls: final.stalls,
      timeToFirstFrameMs: first.timeToFirstFrameMs,
      targetLatencyMs: final.targetLatencyMs,
      state: final.state,
      playedSeconds: final.currentTime - first.currentTime,
    });
    return row;
  } finally {
    const held = link.proxy.delays();
    for (const [key, summary] of [
      ['heldDownMs', held.downstream],
      ['heldUpMs', held.upstream],
    ] as const) {
      row[key] = { min: summary.minMs, mean: summary.meanMs, max: summary.maxMs, late: summary.maxLateMs, chunks: summary.chunks };
    }
    const packets = link.packets();
    Object.assign(row, { packetsToProxy: packets.toProxy, packetsFromProxy: packets.fromProxy, droppedToProxy: packets.droppedToProxy, droppedFromProxy: packets.droppedFromProxy });
    row.cappedBytesDown = link.cappedBytesDown();
    row.linkSeconds = (Date.now() - linkFrom) / 1000;
    const tcpAfter = tcpCounters();
    row.tcpOutSegs = tcpAfter.outSegs - tcpBefore.outSegs;
    row.tcpRetransSegs = tcpAfter.retransSegs - tcpBefore.retransSegs;
    await context.close();
    await link.close();
  }
}

async function run(spec: ConditionsRun): Promise<ConditionsResult> {
  const linksBefore = linkNames();
  // Refuse to touch a namespace that is not fresh: run on the host by mistake, this would reshape the machine's lo.
  if (linksBefore.join() !== 'lo') throw new Error(`not a fresh network namespace (links: ${linksBefore.join(', ')}); run me under unshare -n`);
  const loopback = shapeLoopback();
  // Chromium gathers WebRTC host candidates only on a routed non-loopback link: the broadcaster's ICE goes over this one.
  setUpSealedVeth(NETEM_VETH, NETEM_VETH_PEER, NETEM_VETH_ADDRESS);

  let origin: RunningServer | undefined;
  let edge: RunningServer | undefined;
  let nginx: RunningNginx | undefined;
  let browser: Browser | undefined;
  try {
    origin = await startServer({ ROLE: 'origin', LOG_LEVEL: 'warn', ICE_BIND_ADDRESS: NETEM_VETH_ADDRESS });
    if (spec.paths.includes('edge')) edge = await startServer({ ROLE: 'edge', LOG_LEVEL: 'warn', ORIGIN_URL: origin.baseUrl });
    if (spec.paths.includes('nginx')) nginx = await startNginx(origin.baseUrl);
    browser = await launchChromium();
    const broadcaster = await (await browser.newContext()).newPage();
    broadcaster.on('pageerror', (err) => step(`[broadcaster] ${err.message}`));
    await broadcaster.goto(`${origin.baseUrl}/broadcast?stream=${STREAM}&source=test&autostart=1`);
    await broadcaster.waitForSelector('body[data-state="live"]', { timeout: LIVE_TIMEOUT_MS });
    // Every row's viewer joins a running stream with complete segments behind it, as the latency bench's measured viewer does.
    await playlistWithSegments(await mediaPlaylistUrl(origin.baseUrl, STREAM), 2);
    step('live');

    const targets: Record<ViewerPath, string | undefined> = { direct: origin.baseUrl, edge: edge?.baseUrl, nginx: nginx?.baseUrl };
    const rows: ConditionRow[] = [];
    for (const path of spec.paths) {
      for (const condition of spec.conditions) {
        const row = await measureRow(browser, path, targets[path]!, condition, spec);
        step(`${path} / ${condition.name}: ${row.error ?? `${row.latenciesMs.length} samples, ${row.stalls} stalls`}`);
        rows.push(row);
      }
    }
    return { rows, chromium: browser.version(), loopback };
  } finally {
    await browser?.close();
    await nginx?.stop();
    await edge?.stop();
    await origin?.stop();
  }
}

const spec = JSON.parse(process.argv[2] ?? 'null') as ConditionsRun | null;
if (!spec || !Array.isArray(spec.paths) || !Array.isArray(spec.conditions) || !(spec.seconds > 0)) {
  process.stderr.write('usage: unshare -n -- node --import tsx e2e/support/conditions-netns-driver.ts \'{"paths":[…],"conditions":[…],"seconds":N,"targetMs":null}\'\n');
  process.exit(2);
}
run(spec).then(
  (result) => {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`netem-driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
