// Run inside a fresh network namespace (`unshare -n`): gives it lo and a veth pair on 10.77.0.1, starts the server, a
// counting front proxy (the viewers' edge), a Node publisher and Chromium and Firefox viewers in `p2p` (or `low`) mode,
// and prints one `RESULT {json}` line. `e2e`: the scenario of e2e/p2p.test.ts. `bench VIEWERS MODE SECONDS`: one row of
// `npm run bench -- p2p`.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { chromium, type Browser as ChromiumBrowser } from 'playwright-core';
import type { Browser as FirefoxBrowser } from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser.ts';
import { launchFirefox } from './firefox.ts';
import { metricIn } from './metrics.ts';
import { startNodePublisher, type NodePublisher } from './node-publisher.ts';
import {
  P2P_VETH,
  P2P_VETH_ADDRESS,
  P2P_VETH_PEER,
  type CandidatePair,
  type EdgeTraffic,
  type P2pBenchRow,
  type P2pE2eResult,
  type ViewerBrowser,
  type ViewerReport,
  type ViewerSample,
} from './p2p-netns.ts';
import { pollUntil } from './poll.ts';
import { startServer, type RunningServer } from './server.ts';
import { RECORD_PEER_CONNECTIONS, ip, linkNames, setUpSealedVeth } from './netns-links.ts';

const STREAM = 'p2p-swarm';
/** One small rung: eight decoding browsers fit on two cores (barely), and one swarm holds every viewer. */
const RUNG = { rendition: '240p', width: 426, height: 240, videoBitrate: 400_000 };
const PLAYING_TIMEOUT_MS = 45_000;
const SHARING_TIMEOUT_MS = 60_000;
/** Until a viewer takes a segment from the bad peer: it uploads only what others ask it for. */
const BAD_PEER_TIMEOUT_MS = 90_000;
/** How long the honest viewers keep playing after the bad peer starts, to see it caught and playback go on. */
const BAD_PEER_WATCH_MS = 12_000;
const SAMPLE_INTERVAL_MS = 1000;
/** The watch page redraws its stats and overlay every second; a few redraws. */
const OVERLAY_TIMEOUT_MS = 5000;

/** The viewers' edge: forwards every request (and the tracker's WebSocket upgrade) to the server, counting what it serves. */
async function startCountingProxy(target: string): Promise<{ url: string; traffic: () => EdgeTraffic; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const traffic: EdgeTraffic = { mediaRequests: 0, mediaBytes: 0, playlistRequests: 0, otherRequests: 0, otherBytes: 0 };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const kind = /\.(m4s|mp4)(\?|$)/.test(path) ? 'media' : /\.m3u8(\?|$)/.test(path) ? 'playlist' : 'other';
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers }, (answer: IncomingMessage) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => {
        if (kind === 'media') traffic.mediaBytes += chunk.length;
        else if (kind === 'other') traffic.otherBytes += chunk.length;
      });
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
    if (kind === 'media') traffic.mediaRequests++;
    else if (kind === 'playlist') traffic.playlistRequests++;
    else traffic.otherRequests++;
  });
  server.on('upgrade', (req, socket, head) => {
    const out = connect(Number(upstream.port), upstream.hostname, () => {
      const headers = Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`).join('\r\n');
      out.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers}\r\n\r\n`);
      out.write(head);
      out.pipe(socket).pipe(out);
    });
    out.on('error', () => socket.destroy());
    socket.on('error', () => out.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    traffic: () => ({ ...traffic }),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The candidate pairs that carried bytes, of every peer connection the page made. */
const USED_PAIRS = `(async () => {
  const pairs = [];
  for (const pc of window.__swarmcastPeerConnections ?? []) {
    let stats;
    try { stats = [...(await pc.getStats()).values()]; } catch { continue; }
    for (const pair of stats.filter((s) => s.type === 'candidate-pair' && (s.bytesReceived > 0 || s.bytesSent > 0))) {
      const local = stats.find((s) => s.id === pair.localCandidateId);
      const remote = stats.find((s) => s.id === pair.remoteCandidateId);
      pairs.push({
        local: local?.address ?? local?.ip ?? null,
        remote: remote?.address ?? remote?.ip ?? null,
        localType: local?.candidateType ?? null,
        remoteType: remote?.candidateType ?? null,
      });
    }
  }
  return pairs;
})()`;

/** A test-only bad peer: every segment chunk this page uploads to a peer has one byte flipped (commands go through intact). */
const CORRUPT_UPLOADS = `(() => {
  const send = RTCDataChannel.prototype.send;
  const framed = (b, tag) => b.length >= 4 && String.fromCharCode(b[0], b[1], b[2], b[3]) === tag;
  RTCDataChannel.prototype.send = function (data) {
    if (typeof data !== 'string' && (data instanceof ArrayBuffer || ArrayBuffer.isView(data))) {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (!framed(bytes, 'cstr') && !framed(bytes, 'dstr')) {
        const copy = bytes.slice();
        copy[copy.length >> 1] ^= 0xff;
        return send.call(this, copy);
      }
    }
    return send.call(this, data);
  };
  return true;
})()`;

const SAMPLE = `(() => {
  const s = window.swarmcast?.stats?.();
  return s ? { state: s.state, latencyMs: s.latencyMs, stalls: s.stalls, currentTime: s.currentTime, bytesHttp: s.bytesHttp,
    bytesP2p: s.bytesP2p, peers: s.peers, rejectedP2pSegments: s.rejectedP2pSegments,
    overlay: document.getElementById('p2p-overlay')?.hidden === false ? document.getElementById('p2p-overlay').textContent : null } : null;
})()`;

interface Viewer {
  name: string;
  browser: ViewerBrowser;
  evaluate<T>(expression: string): Promise<T>;
  sample(): Promise<ViewerSample>;
  report(): Promise<ViewerReport>;
}

const NOT_STARTED: ViewerSample = { state: 'none', latencyMs: null, stalls: 0, currentTime: 0, bytesHttp: 0, bytesP2p: 0, peers: 0, rejectedP2pSegments: 0, overlay: null };

class Viewers {
  readonly all: Viewer[] = [];
  #chromium: ChromiumBrowser | null = null;
  #firefox: FirefoxBrowser | null = null;

  constructor(private readonly watchUrl: string) {}

  async open(browser: ViewerBrowser): Promise<Viewer> {
    const name = `${browser}-${this.all.length + 1}`;
    const evaluate = browser === 'chromium' ? await this.#chromiumPage() : await this.#firefoxPage();
    const sample = async (): Promise<ViewerSample> => (await evaluate<ViewerSample | null>(SAMPLE)) ?? NOT_STARTED;
    const viewer: Viewer = {
      name,
      browser,
      evaluate,
      sample,
      report: async () => ({
        name,
        browser,
        // The page redraws its overlay from stats() once a second: a report waits (briefly) for the overlay to show.
        final: await pollUntil(sample, (s) => s.overlay !== null, OVERLAY_TIMEOUT_MS, `${name}'s overlay`).catch(() => sample()),
        pairs: await evaluate<CandidatePair[]>(USED_PAIRS),
        closedConnections: await evaluate<number>(`(window.__swarmcastPeerConnections ?? []).filter((pc) => pc.signalingState === 'closed').length`),
      }),
    };
    this.all.push(viewer);
    return viewer;
  }

  async #chromiumPage(): Promise<Viewer['evaluate']> {
    // Test-only, as Firefox's pref below: host candidates named by address rather than by an mDNS name, so the suite can
    // read which addresses the peers used.
    this.#chromium ??= await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS, '--disable-features=WebRtcHideLocalIpsWithMdns'],
      headless: true,
    });
    const context = await this.#chromium.newContext();
    await context.addInitScript(RECORD_PEER_CONNECTIONS);
    const page = await context.newPage();
    await page.goto(this.watchUrl);
    return <T>(expression: string) => page.evaluate(expression) as Promise<T>;
  }

  async #firefoxPage(): Promise<Viewer['evaluate']> {
    this.#firefox ??= await launchFirefox({ loopbackIce: false, prefs: { 'media.peerconnection.ice.obfuscate_host_addresses': false } });
    const context = await this.#firefox.createBrowserContext();
    // A window of its own: a Firefox page in a background tab is throttled.
    const page = await context.newPage({ type: 'window' });
    await page.evaluateOnNewDocument(RECORD_PEER_CONNECTIONS);
    await page.goto(this.watchUrl);
    return <T>(expression: string) => page.evaluate(expression) as Promise<T>;
  }

  samples(): Promise<ViewerSample[]> {
    return Promise.all(this.all.map((v) => v.sample()));
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#chromium?.close(), this.#firefox?.close()]);
  }
}

async function waitPlaying(viewers: readonly Viewer[]): Promise<void> {
  await pollUntil(() => Promise.all(viewers.map((v) => v.sample())), (s) => s.every((x) => x.state === 'playing'), PLAYING_TIMEOUT_MS, 'every viewer playing');
}

async function trackerCounts(baseUrl: string): Promise<{ peers: number; relayed: number }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return { peers: metricIn(text, 'swarmcast_tracker_peers'), relayed: metricIn(text, 'swarmcast_tracker_signals_relayed_total') };
}

interface Stage {
  server: RunningServer;
  proxy: Awaited<ReturnType<typeof startCountingProxy>>;
  publisher: NodePublisher;
  viewers: Viewers;
}

/** Segment length: the p2p bench and suite run 1 s segments, which let peers share the newest segment sooner. */
const DEFAULT_SEGMENT_MS = 1000;
/** Media the playlist lists before the first viewer joins: more than p2p mode's 4.5 s behind the newest segment. */
const JOIN_AFTER_MS = 6000;

async function withStage<T>(mode: 'low' | 'p2p', segmentMs: number, body: (stage: Stage) => Promise<T>): Promise<T> {
  const server = await startServer({ HOST: '127.0.0.1', SEGMENT_TARGET_MS: String(segmentMs) });
  let proxy: Stage['proxy'] | undefined;
  let publisher: NodePublisher | undefined;
  let viewers: Viewers | undefined;
  try {
    publisher = await startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, ladder: [RUNG], gopSeconds: segmentMs / 1000 });
    proxy = await startCountingProxy(server.baseUrl);
    const playlist = `${server.baseUrl}/live/${STREAM}/index.m3u8`;
    await pollUntil(async () => (await fetch(playlist)).status, (status) => status === 200, 20_000, 'the stream live');
    // Viewers join a broadcast already under way, as most do: with fewer segments listed than p2p mode holds behind
    // live, hls.js starts at the first one, near the live edge, ahead of every peer.
    const media = new URL((await (await fetch(playlist)).text()).split('\n').find((line) => line.trim() !== '' && !line.startsWith('#'))!, playlist).href;
    const segmentsListed = async (): Promise<number> => ((await (await fetch(media)).text()).match(/^#EXTINF/gm) ?? []).length;
    await pollUntil(segmentsListed, (n) => n * segmentMs >= JOIN_AFTER_MS, JOIN_AFTER_MS + 20_000, 'segments enough to play p2p mode behind live');
    viewers = new Viewers(`${proxy.url}/watch?stream=${STREAM}&latency=${mode}`);
    return await body({ server, proxy, publisher, viewers });
  } finally {
    await viewers?.close();
    await publisher?.stop().catch(() => undefined);
    await proxy?.close();
    await server.stop();
  }
}

async function runE2e(): Promise<P2pE2eResult> {
  const linksBefore = linkNames();
  if (linksBefore.join() !== 'lo') throw new Error(`not a fresh network namespace (links: ${linksBefore.join(', ')}); run me under unshare -n`);
  setUpSealedVeth(P2P_VETH, P2P_VETH_PEER, P2P_VETH_ADDRESS);
  const linksAfter = linkNames();
  const routes = ip('route', 'show', 'table', 'all').split('\n').filter(Boolean);
  return withStage('p2p', DEFAULT_SEGMENT_MS, async ({ server, viewers }) => {
    const first = [
      await viewers.open('chromium'),
      await viewers.open('firefox'),
      await viewers.open('chromium'),
      await viewers.open('firefox'),
    ];
    await waitPlaying(first);
    // Most viewers receive segments from peers (one may have fetched everything it played itself).
    await pollUntil(() => Promise.all(first.map((v) => v.sample())), (s) => s.filter((x) => x.bytesP2p > 0).length >= 3, SHARING_TIMEOUT_MS, 'three viewers with bytes from peers');
    const shared = await Promise.all(first.map((v) => v.report()));

    const late = await viewers.open('chromium');
    await waitPlaying([late]);
    await pollUntil(() => late.sample(), (s) => s.bytesP2p > 0, SHARING_TIMEOUT_MS, 'the late viewer receiving segments from peers');
    const lateReport = await late.report();

    // The bad peer is the connected viewer closest to live: the others most often take segments from it (a viewer
    // that has lost its peers would have no one to corrupt anything for).
    const samples = await Promise.all(first.map((v) => v.sample()));
    const rank = (s: ViewerSample): number => (s.peers > 0 ? 0 : 1e9) + (s.latencyMs ?? 1e8);
    const ranks = samples.map(rank);
    const bad = first[ranks.indexOf(Math.min(...ranks))]!;
    const honest = viewers.all.filter((v) => v !== bad);
    const currentTimeAtBadPeer = Object.fromEntries(await Promise.all(honest.map(async (v) => [v.name, (await v.sample()).currentTime] as const)));
    await bad.evaluate(CORRUPT_UPLOADS);
    await pollUntil(
      () => Promise.all([...honest, bad].map((v) => v.sample())),
      (s) => s.slice(0, -1).some((x) => x.rejectedP2pSegments > 0),
      BAD_PEER_TIMEOUT_MS,
      'an honest viewer refusing a corrupted segment',
    );
    // Playback goes on: the honest viewers' playheads keep moving for a while after the bad segments were refused.
    const caughtAt = Object.fromEntries(await Promise.all(honest.map(async (v) => [v.name, (await v.sample()).currentTime] as const)));
    await pollUntil(
      () => Promise.all(honest.map((v) => v.sample())),
      (s) => s.every((x, i) => x.currentTime >= (caughtAt[honest[i]!.name] ?? 0) + BAD_PEER_WATCH_MS / 1000),
      BAD_PEER_WATCH_MS + 15_000,
      'honest viewers playing on after the bad peer was caught',
    );
    const afterBadPeer = await Promise.all(honest.map((v) => v.report()));
    return {
      linksBefore,
      linksAfter,
      routes,
      shared,
      late: lateReport,
      badPeer: bad.name,
      afterBadPeer,
      currentTimeAtBadPeer,
      tracker: await trackerCounts(server.baseUrl),
      serverLog: server.logLines.slice(-40),
    };
  });
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    busy += all - times.idle;
    total += all;
  }
  return { busy, total };
}

async function runBench(viewerCount: number, mode: 'low' | 'p2p', seconds: number, segmentMs: number): Promise<P2pBenchRow> {
  if (linkNames().join() !== 'lo') throw new Error('not a fresh network namespace; run me under unshare -n');
  setUpSealedVeth(P2P_VETH, P2P_VETH_PEER, P2P_VETH_ADDRESS);
  return withStage(mode, segmentMs, async ({ proxy, viewers }) => {
    // Chromium and Firefox alternate; Firefox is the heavier, so it takes every other seat.
    const opened: Viewer[] = [];
    for (let i = 0; i < viewerCount; i++) opened.push(await viewers.open(i % 2 === 0 ? 'chromium' : 'firefox'));
    await waitPlaying(opened);
    const startTraffic = proxy.traffic();
    const startSamples = await viewers.samples();
    const startCpu = cpuTimes();
    const latencies: number[] = [];
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
      for (const s of await viewers.samples()) if (s.latencyMs !== null && s.state === 'playing') latencies.push(s.latencyMs);
    }
    const endCpu = cpuTimes();
    const endSamples = await viewers.samples();
    const endTraffic = proxy.traffic();
    const delta = (pick: (s: ViewerSample) => number): number => endSamples.reduce((sum, s, i) => sum + pick(s) - pick(startSamples[i]!), 0);
    const p2pBytes = delta((s) => s.bytesP2p);
    const httpBytes = delta((s) => s.bytesHttp);
    latencies.sort((a, b) => a - b);
    return {
      mode,
      viewers: viewerCount,
      seconds,
      peerShare: p2pBytes + httpBytes > 0 ? p2pBytes / (p2pBytes + httpBytes) : 0,
      edge: {
        mediaRequests: endTraffic.mediaRequests - startTraffic.mediaRequests,
        mediaBytes: endTraffic.mediaBytes - startTraffic.mediaBytes,
        playlistRequests: endTraffic.playlistRequests - startTraffic.playlistRequests,
        otherRequests: endTraffic.otherRequests - startTraffic.otherRequests,
        otherBytes: endTraffic.otherBytes - startTraffic.otherBytes,
      },
      latencyP50Ms: percentile(latencies, 50),
      latencyP95Ms: percentile(latencies, 95),
      stalls: delta((s) => s.stalls),
      cpuPercent: Math.round((100 * (endCpu.busy - startCpu.busy)) / Math.max(1, endCpu.total - startCpu.total)),
      playing: endSamples.filter((s) => s.state === 'playing').length,
      peersPerViewer: endSamples.reduce((sum, s) => sum + s.peers, 0) / endSamples.length,
    };
  });
}

async function main(): Promise<unknown> {
  const [scenario, viewers, mode, seconds, segmentMs] = process.argv.slice(2);
  if (scenario === 'e2e') return runE2e();
  if (scenario === 'bench' && (mode === 'low' || mode === 'p2p') && Number(viewers) > 0 && Number(seconds) > 0) {
    return runBench(Number(viewers), mode, Number(seconds), Number(segmentMs ?? DEFAULT_SEGMENT_MS));
  }
  process.stderr.write('usage: unshare -n -- node --import tsx e2e/support/p2p-netns-driver.ts e2e | bench VIEWERS low|p2p SECONDS [SEGMENT_MS]\n');
  process.exit(2);
}

main().then(
  (result) => {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`p2p-netns-driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
