// Run inside a fresh network namespace (`unshare -n`): gives it lo and a veth pair on 10.77.0.1, starts the server, a
// counting front proxy (the viewers' edge), a Node publisher and Chromium and Firefox viewers in `p2p` (or `low`) mode,
// and prints one `RESULT {json}` line. `e2e`: the scenario of e2e/p2p.test.ts, on a token-protected, encrypted stream
// (each viewer with a token of its own). `bench VIEWERS MODE SECONDS`: one row of `npm run bench -- p2p` (plain stream).
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { chromium, type Browser as ChromiumBrowser } from 'playwright-core';
import type { Browser as FirefoxBrowser } from 'puppeteer-core';
import { mintPlaybackToken, playbackKey } from '../../server/access/playback-token.ts';
import { SEGMENT_DIGESTS, multivariantPath, splitPlaybackToken, withPlaybackToken } from '../../shared/playback-path.ts';
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
  type P2pSecurityReport,
  type ViewerBrowser,
  type ViewerReport,
  type ViewerSample,
} from './p2p-netns.ts';
import { pollUntil } from './poll.ts';
import { startServer, type RunningServer } from './server.ts';
import { RECORD_PEER_CONNECTIONS, ip, linkNames, setUpSealedVeth } from './netns-links.ts';

const STREAM = 'p2p-swarm';
/**
 * The e2e's stream is token-protected and encrypted (PLAYBACK_SECRET, ENCRYPTED_STREAMS): tokens must not split the
 * swarm, and what peers exchange is the origin's ciphertext, checked against digests of that ciphertext. Keys rotate at
 * the server's default, every 10 segments (10 s here): the run crosses several key periods.
 */
const PLAYBACK_SECRET = 'p2p-e2e-playback-secret-0123456789abcdef';
const TOKEN_TTL_S = 3600;
/** One small rung: eight decoding browsers fit on two cores (barely), and one swarm holds every viewer. */
const RUNG = { rendition: '240p', width: 426, height: 240, videoBitrate: 400_000 };
const PLAYING_TIMEOUT_MS = 45_000;
const SHARING_TIMEOUT_MS = 60_000;
/** Until a viewer takes a segment from the bad peer: it uploads only what others ask it for. */
const BAD_PEER_TIMEOUT_MS = 90_000;
/**
 * How long the honest viewers keep playing after the bad peer was caught: long enough for it to announce again (the
 * tracker's 10 s) and be offered to its victims, who must refuse it.
 */
const BAD_PEER_WATCH_MS = 25_000;
/** How close (ms of glass-to-glass latency) a viewer who joined at go-live must come to p2p mode's target. */
const TARGET_SLACK_MS = 500;
/** Until viewers who joined at go-live have drifted back to p2p mode's target (about 3 s at 0.85×: 20 s). */
const DRIFT_TIMEOUT_MS = 60_000;
/** After edge B is gone: the failover viewer keeps playing this long (media seconds), its peer engine fetching from C. */
const FAILOVER_WATCH_S = 10;
/** The failover viewer's buffer when edge B goes away: p2p mode holds about 4 s of segments ahead of the playhead. */
const FAILOVER_BUFFER_MS = 3000;
const SAMPLE_INTERVAL_MS = 1000;
/** The watch page redraws its stats and overlay every second; a few redraws. */
const OVERLAY_TIMEOUT_MS = 5000;

const startedAt = Date.now();
/** A progress line on stderr: the runner shows them when the driver fails or runs out of time. */
function step(message: string): void {
  process.stderr.write(`[p2p-driver +${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${message}\n`);
}

/**
 * The viewers' edge: forwards every request (and the tracker's WebSocket upgrade) to the server, counting what it serves;
 * the path of each media key request (token prefix included) goes into `keyRequests` when given.
 */
async function startCountingProxy(target: string, keyRequests?: string[]): Promise<{ url: string; traffic: () => EdgeTraffic; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const traffic: EdgeTraffic = { mediaRequests: 0, mediaBytes: 0, playlistRequests: 0, otherRequests: 0, otherBytes: 0 };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const kind = /\.(m4s|mp4)(\?|$)/.test(path) ? 'media' : /\.m3u8(\?|$)/.test(path) ? 'playlist' : 'other';
    if (/\.key(\?|$)/.test(path)) keyRequests?.push(path);
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
  const upgraded = new Set<{ destroy(): void }>();
  server.on('upgrade', (req, socket, head) => {
    upgraded.add(socket);
    const out = connect(Number(upstream.port), upstream.hostname, () => {
      const headers = Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`).join('\r\n');
      out.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers}\r\n\r\n`);
      out.write(head);
      out.pipe(socket).pipe(out);
    });
    upgraded.add(out);
    out.on('error', () => socket.destroy());
    socket.on('error', () => out.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    traffic: () => ({ ...traffic }),
    close: () => {
      // Upgraded (tracker) connections are no longer the HTTP server's: it would wait for them.
      for (const socket of upgraded) socket.destroy();
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

/**
 * Test-only: the video element's recent history, to tell why a stall happened: its media events (the video lives in
 * the player element's shadow root, where they do not reach the document: listened to on every shadow root) and a
 * sample every 200 ms (a gap between samples far over 200 ms means the page's main thread was starved).
 */
const RECORD_WAITS = `(() => {
  const events = [];
  const samples = [];
  window.__swarmcastWaits = { events, samples };
  const ranges = (v) => Array.from({ length: v.buffered.length }, (_, i) => [+v.buffered.start(i).toFixed(3), +v.buffered.end(i).toFixed(3)]);
  const state = (v) => ({ at: Math.round(performance.now()), t: +v.currentTime.toFixed(3), rs: v.readyState, rate: v.playbackRate, paused: v.paused,
    seeking: v.seeking, buffered: ranges(v), dropped: v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().droppedVideoFrames : null });
  const keep = (list, item, n) => { list.push(item); if (list.length > n) list.shift(); };
  const listen = (root) => {
    for (const type of ['waiting', 'playing', 'seeking', 'seeked', 'ratechange', 'pause', 'emptied']) {
      root.addEventListener(type, (e) => { if (e.target instanceof HTMLVideoElement) keep(events, { type, ...state(e.target) }, 40); }, true);
    }
  };
  listen(document);
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) { const root = attach.call(this, init); listen(root); return root; };
  setInterval(() => {
    const v = document.querySelector('swarmcast-player')?.shadowRoot?.querySelector('video') ?? document.querySelector('video');
    if (v) keep(samples, state(v), 25);
  }, 200);
})()`;

const SAMPLE = `(() => {
  const s = window.swarmcast?.stats?.();
  return s ? { state: s.state, latencyMs: s.latencyMs, stalls: s.stalls, currentTime: s.currentTime, bytesHttp: s.bytesHttp,
    bytesP2p: s.bytesP2p, peers: s.peers, rejectedP2pSegments: s.rejectedP2pSegments, bannedPeers: s.bannedPeers,
    targetLatencyMs: s.targetLatencyMs, edge: s.edge, edgeSwitches: s.edgeSwitches, bufferMs: s.bufferMs, playbackRate: s.playbackRate,
    overlay: document.getElementById('p2p-overlay')?.hidden === false ? document.getElementById('p2p-overlay').textContent : null } : null;
})()`;

interface Viewer {
  name: string;
  browser: ViewerBrowser;
  /** The playback token its watch page was opened with (`&token=`), on a token-protected stage. */
  token: string | undefined;
  evaluate<T>(expression: string): Promise<T>;
  sample(): Promise<ViewerSample>;
  report(): Promise<ViewerReport>;
  close(): Promise<void>;
  /** The player's `[swarmcast]` console lines, for progress lines when something goes wrong. */
  logs: string[];
  /** The video element's recent events and samples (RECORD_WAITS). */
  waits(): Promise<unknown>;
}

/** Called with each response a viewer's page receives: its URL and a way to read its body. */
type OnResponse = (url: string, text: () => Promise<string>) => void;

const NOT_STARTED: ViewerSample = {
  state: 'none',
  latencyMs: null,
  stalls: 0,
  currentTime: 0,
  bytesHttp: 0,
  bytesP2p: 0,
  peers: 0,
  rejectedP2pSegments: 0,
  bannedPeers: 0,
  targetLatencyMs: null,
  edge: null,
  edgeSwitches: 0,
  bufferMs: 0,
  playbackRate: 1,
  overlay: null,
};

class Viewers {
  readonly all: Viewer[] = [];
  #chromium: ChromiumBrowser | null = null;
  #firefox: FirefoxBrowser | null = null;

  /** `mintToken`, on a token-protected stage: each viewer's own token, added to its watch URL. */
  constructor(
    private readonly watchUrl: string,
    private readonly mintToken?: () => Promise<string>,
  ) {}

  async open(browser: ViewerBrowser, plainWatchUrl = this.watchUrl): Promise<Viewer> {
    const name = `${browser}-${this.all.length + 1}`;
    const token = await this.mintToken?.();
    const watchUrl = token === undefined ? plainWatchUrl : `${plainWatchUrl}&token=${token}`;
    const logs: string[] = [];
    const log = (text: string): void => {
      if (text.includes('[swarmcast]')) logs.push(`${((Date.now() - startedAt) / 1000).toFixed(1)} ${text}`);
    };
    const bandwidths: number[] = [];
    // Every multivariant playlist the page read (its waiting poll, then hls.js): the BANDWIDTH its swarm's info hash has.
    const onResponse: OnResponse = (url, text) => {
      if (!new URL(url).pathname.endsWith(multivariantPath(STREAM))) return;
      text().then(
        (body) => {
          const bandwidth = /BANDWIDTH=(\d+)/.exec(body)?.[1];
          if (bandwidth !== undefined) bandwidths.push(Number(bandwidth));
        },
        () => undefined,
      );
    };
    const { evaluate, close } = browser === 'chromium' ? await this.#chromiumPage(watchUrl, log, onResponse) : await this.#firefoxPage(watchUrl, log, onResponse);
    const sample = async (): Promise<ViewerSample> => (await evaluate<ViewerSample | null>(SAMPLE)) ?? NOT_STARTED;
    const viewer: Viewer = {
      name,
      browser,
      token,
      evaluate,
      sample,
      report: async () => ({
        name,
        browser,
        // The page redraws its overlay from stats() once a second: a report waits (briefly) for the overlay to show.
        final: await pollUntil(sample, (s) => s.overlay !== null, OVERLAY_TIMEOUT_MS, `${name}'s overlay`).catch(() => sample()),
        pairs: await evaluate<CandidatePair[]>(USED_PAIRS),
        closedConnections: await evaluate<number>(`(window.__swarmcastPeerConnections ?? []).filter((pc) => pc.signalingState === 'closed').length`),
        bannedReconnects: logs.filter((line) => /banned peer .* connected again/.test(line)).length,
        bandwidth: bandwidths.at(-1) ?? null,
      }),
      waits: () => evaluate<unknown>('window.__swarmcastWaits ?? null'),
      close,
      logs,
    };
    this.all.push(viewer);
    return viewer;
  }

  /** Starts Chromium before the broadcast, so that a viewer opened at go-live does not wait for a browser to start. */
  async warm(): Promise<void> {
    await this.#launchChromium();
  }

  async #launchChromium(): Promise<ChromiumBrowser> {
    // Test-only, as Firefox's pref below: host candidates named by address rather than by an mDNS name, so the suite can
    // read which addresses the peers used.
    this.#chromium ??= await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS, '--disable-features=WebRtcHideLocalIpsWithMdns'],
      headless: true,
    });
    return this.#chromium;
  }

  async #chromiumPage(watchUrl: string, log: (text: string) => void, onResponse: OnResponse): Promise<Pick<Viewer, 'evaluate' | 'close'>> {
    const context = await (await this.#launchChromium()).newContext();
    await context.addInitScript(RECORD_PEER_CONNECTIONS);
    await context.addInitScript(RECORD_WAITS);
    const page = await context.newPage();
    page.on('console', (message) => log(message.text()));
    page.on('response', (response) => onResponse(response.url(), () => response.text()));
    await page.goto(watchUrl);
    return { evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>, close: () => context.close() };
  }

  async #firefoxPage(watchUrl: string, log: (text: string) => void, onResponse: OnResponse): Promise<Pick<Viewer, 'evaluate' | 'close'>> {
    this.#firefox ??= await launchFirefox({ loopbackIce: false, prefs: { 'media.peerconnection.ice.obfuscate_host_addresses': false } });
    const context = await this.#firefox.createBrowserContext();
    // A window of its own: a Firefox page in a background tab is throttled.
    const page = await context.newPage({ type: 'window' });
    await page.evaluateOnNewDocument(RECORD_PEER_CONNECTIONS);
    await page.evaluateOnNewDocument(RECORD_WAITS);
    page.on('console', (message) => log(message.text()));
    page.on('response', (response) => onResponse(response.url(), () => response.text()));
    await page.goto(watchUrl);
    return { evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>, close: () => context.close() };
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

async function trackerCounts(baseUrl: string): Promise<{ swarms: number; peers: number; relayed: number }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return {
    swarms: metricIn(text, 'swarmcast_tracker_swarms'),
    peers: metricIn(text, 'swarmcast_tracker_peers'),
    relayed: metricIn(text, 'swarmcast_tracker_signals_relayed_total'),
  };
}

/**
 * The newest segment digests.json lists, fetched with the driver's own token: what the origin serves (and what peers
 * must match to be accepted) is the ciphertext, and the same segment without a token is refused.
 */
async function ciphertextCheck(mediaPlaylist: string): Promise<P2pSecurityReport['ciphertext']> {
  const digests = (await (await fetch(new URL(SEGMENT_DIGESTS, mediaPlaylist))).json()) as { segments: Record<string, string> };
  const [name, digest] = Object.entries(digests.segments).at(-1)!;
  const segmentUrl = new URL(name, mediaPlaylist);
  const segment = await fetch(segmentUrl);
  const bytes = Buffer.from(await segment.arrayBuffer());
  const plainUrl = new URL(splitPlaybackToken(segmentUrl.pathname)!.path, segmentUrl);
  return {
    status: segment.status,
    digestMatches: createHash('sha256').update(bytes).digest('base64') === digest,
    bytes: bytes.length,
    firstBoxType: bytes.subarray(4, 8).toString('latin1'),
    statusWithoutToken: (await fetch(plainUrl)).status,
  };
}

interface Stage {
  server: RunningServer;
  proxy: Awaited<ReturnType<typeof startCountingProxy>>;
  publisher: NodePublisher;
  viewers: Viewers;
  /** The media playlist's URL on the server, behind the driver's own token on a token-protected stage. */
  mediaPlaylist: string;
  /** Each viewer's token, minted per viewer: undefined on a plain stage. */
  mintToken: (() => Promise<string>) | undefined;
  /** Every media key request the viewers made through the stage's proxies, by path (token prefix included). */
  keyRequests: string[];
  /** The viewer whose watch page was open before the broadcast went live (a waiting audience), when asked for. */
  waiting: Viewer | undefined;
}

/** Segment length: the p2p bench and suite run 1 s segments, which let peers share the newest segment sooner. */
const DEFAULT_SEGMENT_MS = 1000;
/**
 * The bench's viewers join once the playlist lists more than p2p mode's 4.5 s behind the newest segment, so that its
 * figures are the steady state's; the e2e's join at go-live.
 */
const BENCH_JOIN_AFTER_MS = 6000;

/** `secured`: the stream is token-protected and encrypted, each viewer opens it with a token of its own, the driver with another. */
async function withStage<T>(
  mode: 'low' | 'p2p',
  segmentMs: number,
  joinAfterMs: number,
  secured: boolean,
  body: (stage: Stage) => Promise<T>,
  openBeforeLive?: ViewerBrowser,
): Promise<T> {
  const access: Record<string, string> = secured ? { PLAYBACK_SECRET, ENCRYPTED_STREAMS: STREAM } : {};
  const server = await startServer({ HOST: '127.0.0.1', SEGMENT_TARGET_MS: String(segmentMs), ...access });
  // Tokens minted in the same second for the same stream and lifetime are equal: each one lives a second longer.
  let minted = 0;
  const mintToken = secured ? () => mintPlaybackToken(playbackKey(PLAYBACK_SECRET), { stream: STREAM, ttlS: TOKEN_TTL_S + minted++ }) : undefined;
  const keyRequests: string[] = [];
  let proxy: Stage['proxy'] | undefined;
  let publisher: NodePublisher | undefined;
  let viewers: Viewers | undefined;
  try {
    proxy = await startCountingProxy(server.baseUrl, keyRequests);
    viewers = new Viewers(`${proxy.url}/watch?stream=${STREAM}&latency=${mode}`, mintToken);
    await viewers.warm();
    const waiting = openBeforeLive && (await viewers.open(openBeforeLive));
    publisher = await startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, ladder: [RUNG], gopSeconds: segmentMs / 1000 });
    const playlist = `${server.baseUrl}${withPlaybackToken(multivariantPath(STREAM), await mintToken?.())}`;
    await pollUntil(async () => (await fetch(playlist)).status, (status) => status === 200, 20_000, 'the stream live');
    const media = new URL((await (await fetch(playlist)).text()).split('\n').find((line) => line.trim() !== '' && !line.startsWith('#'))!, playlist).href;
    const segmentsListed = async (): Promise<number> => ((await (await fetch(media)).text()).match(/^#EXTINF/gm) ?? []).length;
    await pollUntil(segmentsListed, (n) => n > 0 && n * segmentMs >= joinAfterMs, joinAfterMs + 20_000, 'segments listed');
    return await body({ server, proxy, publisher, viewers, mediaPlaylist: media, mintToken, keyRequests, waiting });
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
  return withStage(
    'p2p',
    DEFAULT_SEGMENT_MS,
    0,
    true,
    async (stage) => {
      const stallLog: string[] = [];
      const stopWatching = logStalls(stage.viewers, stallLog);
      try {
        return { ...(await runE2eStage(stage, linksBefore, linksAfter, routes)), stallLog };
      } finally {
        stopWatching();
      }
    },
    'chromium',
  );
}

/**
 * Says when and how each stall of any viewer happened from now on, as progress lines (and into `stallLog` when given,
 * for the suite's messages); returns what stops it.
 */
function logStalls(viewers: Viewers, stallLog?: string[]): () => void {
  const stallsSeen = new Map<Viewer, number>();
  const timer = setInterval(() => {
    for (const viewer of [...viewers.all]) {
      viewer.sample().then(
        (s) => {
          const before = stallsSeen.get(viewer);
          if (before !== undefined && s.stalls !== before) {
            void viewer.waits().then(
              (waits) => {
                const at = `+${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
                step(`${viewer.name} stalled: ${JSON.stringify(s)}\n  video: ${JSON.stringify(waits)}\n  ${viewer.logs.slice(-5).join('\n  ')}`);
                stallLog?.push(`${viewer.name} stalled at ${at}: ${JSON.stringify(s)}; the video before: ${JSON.stringify(waits)}`);
              },
              () => undefined,
            );
          }
          stallsSeen.set(viewer, s.stalls);
        },
        () => undefined,
      );
    }
  }, SAMPLE_INTERVAL_MS);
  return () => clearInterval(timer);
}

async function runE2eStage(stage: Stage, linksBefore: string[], linksAfter: string[], routes: string[]): Promise<Omit<P2pE2eResult, 'stallLog'>> {
  const { server, viewers, keyRequests, waiting } = stage;
  // The first viewer had its watch page open before the broadcast went live: it starts at go-live, when the playlist
  // lists less than p2p mode holds behind live (hls.js starts it at the first segment, near the live edge and ahead of
  // where its swarm will be), and may read the multivariant playlist before the first segment gave BANDWIDTH a measurement.
  const first: Viewer[] = [];
  const joinedLatencyMs: Record<string, number> = {};
  for (const browser of ['chromium', 'firefox', 'chromium', 'firefox'] as const) {
    const viewer = first.length === 0 && waiting ? waiting : await viewers.open(browser);
    const joined = await pollUntil(viewer.sample, (s) => s.state === 'playing' && s.latencyMs !== null, PLAYING_TIMEOUT_MS, `${viewer.name} playing`);
    joinedLatencyMs[viewer.name] = joined.latencyMs!;
    first.push(viewer);
  }
  await waitPlaying(first);
  step(`four viewers playing; latency when each started: ${JSON.stringify(joinedLatencyMs)}`);
  // Every viewer ends up at the p2p target (those who joined early drift back to it) ...
  const atTarget = (s: ViewerSample): boolean =>
    s.playbackRate === 1 && s.latencyMs !== null && s.targetLatencyMs !== null && s.latencyMs >= s.targetLatencyMs - TARGET_SLACK_MS;
  await pollUntil(() => Promise.all(first.map((v) => v.sample())), (s) => s.every(atTarget), DRIFT_TIMEOUT_MS, 'every viewer at the p2p target').catch(async (err: unknown) => {
    step(`not at the target: ${JSON.stringify(await Promise.all(first.map((v) => v.sample())))}`);
    throw err;
  });
  // ... and most receive segments from peers (one may have fetched everything it played itself), the go-live one among them.
  await pollUntil(
    () => Promise.all(first.map((v) => v.sample())),
    (s) => s.filter((x) => x.bytesP2p > 0).length >= 3 && s[0]!.bytesP2p > 0,
    SHARING_TIMEOUT_MS,
    'three viewers with bytes from peers, the one who joined at go-live among them',
  );
  const shared = await Promise.all(first.map((v) => v.report()));
  const trackerWhileSharing = await trackerCounts(server.baseUrl);
  const ciphertext = await ciphertextCheck(stage.mediaPlaylist);
  step(`viewers at the target and sharing; tracker ${JSON.stringify(trackerWhileSharing)}; a segment as served ${JSON.stringify(ciphertext)}`);

  const late = await viewers.open('chromium');
  await waitPlaying([late]);
  await pollUntil(() => late.sample(), (s) => s.bytesP2p > 0, SHARING_TIMEOUT_MS, 'the late viewer receiving segments from peers');
  const lateReport = await late.report();
  const trackerWithLate = await trackerCounts(server.baseUrl);
  step(`late viewer sharing; BANDWIDTH each read ${JSON.stringify(Object.fromEntries([...shared, lateReport].map((r) => [r.name, r.bandwidth])))}; tracker ${JSON.stringify(trackerWithLate)}`);

  // The bad peer is the connected viewer closest to live: the others most often take segments from it (a viewer
  // that has lost its peers would have no one to corrupt anything for).
  const samples = await Promise.all(first.map((v) => v.sample()));
  const rank = (s: ViewerSample): number => (s.peers > 0 ? 0 : 1e9) + (s.latencyMs ?? 1e8);
  const ranks = samples.map(rank);
  const bad = first[ranks.indexOf(Math.min(...ranks))]!;
  const honest = viewers.all.filter((v) => v !== bad);
  const atBadPeer = await Promise.all(honest.map((v) => v.sample()));
  const stallsAtBadPeer = Object.fromEntries(honest.map((v, i) => [v.name, atBadPeer[i]!.stalls]));
  await bad.evaluate(CORRUPT_UPLOADS);
  step(`${bad.name} corrupts its uploads`);
  const watchStalls = (): Promise<ViewerSample[]> => Promise.all(honest.map((v) => v.sample()));
  await pollUntil(
    async () => [...(await watchStalls()), await bad.sample()],
    (s) => s.slice(0, -1).some((x) => x.rejectedP2pSegments > 0),
    BAD_PEER_TIMEOUT_MS,
    'an honest viewer refusing a corrupted segment',
  );
  step('bad peer caught');
  // Playback goes on: the honest viewers' playheads keep moving for a while after the bad segments were refused,
  // long enough for the bad peer to announce again and be offered to its victims.
  const caught = await watchStalls();
  const p2pBytesAtCaught = Object.fromEntries(honest.map((v, i) => [v.name, caught[i]!.bytesP2p]));
  await pollUntil(
    watchStalls,
    (s) => s.every((x, i) => x.currentTime >= caught[i]!.currentTime + BAD_PEER_WATCH_MS / 1000),
    BAD_PEER_WATCH_MS + 15_000,
    'honest viewers playing on after the bad peer was caught',
  );
  const afterBadPeer = await Promise.all(honest.map((v) => v.report()));
  const tracker = await trackerCounts(server.baseUrl);
  step(`after the bad peer: ${JSON.stringify(await Promise.all(honest.map((v) => v.sample())))}`);
  for (const viewer of honest) step(`${viewer.name} logs:\n  ${viewer.logs.join('\n  ')}`);

  // Edge failover of the peer engine's own HTTP fetches: a viewer alone in the swarm (it fetches every segment over
  // HTTP) plays from two edges, B first; B goes away.
  await Promise.all(viewers.all.map((v) => v.close()));
  const edgeB = await startCountingProxy(server.baseUrl, keyRequests);
  const edgeC = await startCountingProxy(server.baseUrl, keyRequests);
  try {
    const failover = await viewers.open('chromium', `${edgeB.url}/watch?stream=${STREAM}&latency=p2p&edges=${edgeB.url},${edgeC.url}`);
    await waitPlaying([failover]);
    // Steady first: playing at its target with the segments up to it buffered, as a viewer is when an edge dies.
    const beforeFailover = await pollUntil(
      failover.sample,
      (s) => s.bytesHttp > 0 && s.bufferMs >= FAILOVER_BUFFER_MS,
      SHARING_TIMEOUT_MS,
      'the failover viewer loading over HTTP with its buffer full',
    );
    step(`failover viewer loading over HTTP: ${JSON.stringify(beforeFailover)}; edge B goes away`);
    const edgeCBefore = edgeC.traffic().mediaBytes;
    const failedAt = Date.now();
    await edgeB.close();
    const afterFailover = await pollUntil(
      failover.sample,
      (s) => s.currentTime >= beforeFailover.currentTime + FAILOVER_WATCH_S && s.bytesHttp > beforeFailover.bytesHttp,
      FAILOVER_WATCH_S * 1000 + 30_000,
      'the failover viewer playing on from edge C',
    );
    const failoverWallS = (Date.now() - failedAt) / 1000;
    const edgeCMediaBytes = edgeC.traffic().mediaBytes - edgeCBefore;
    step(`failover viewer after edge B went away (${failoverWallS} s, ${edgeCMediaBytes} media bytes from C): ${JSON.stringify(afterFailover)}\n  ${failover.logs.join('\n  ')}`);
    const underOwnToken = (viewer: Viewer): number => keyRequests.filter((path) => path.startsWith(`/t/${viewer.token}/`)).length;
    const security: P2pSecurityReport = {
      tokens: Object.fromEntries(viewers.all.map((v) => [v.name, v.token ?? ''])),
      keyRequestsUnderOwnToken: Object.fromEntries(viewers.all.map((v) => [v.name, underOwnToken(v)])),
      failoverViewer: failover.name,
      trackerWhileSharing,
      ciphertext,
    };
    step(`security: ${JSON.stringify({ ...security, tokens: undefined })}`);
    return {
      linksBefore,
      linksAfter,
      routes,
      joinedLatencyMs,
      shared,
      late: lateReport,
      badPeer: bad.name,
      afterBadPeer,
      p2pBytesAtCaught,
      stallsAtBadPeer,
      failover: {
        edgeB: edgeB.url,
        edgeC: edgeC.url,
        before: beforeFailover,
        after: afterFailover,
        edgeCMediaRequests: edgeC.traffic().mediaRequests,
        edgeCMediaBytes,
        wallS: failoverWallS,
      },
      trackerWithLate,
      tracker,
      security,
      serverLog: server.logLines.slice(-40),
    };
  } finally {
    await edgeB.close().catch(() => undefined);
    await edgeC.close();
  }
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
  return withStage(mode, segmentMs, BENCH_JOIN_AFTER_MS, false, async ({ proxy, viewers }) => {
    // Chromium and Firefox alternate; Firefox is the heavier, so it takes every other seat.
    const opened: Viewer[] = [];
    for (let i = 0; i < viewerCount; i++) opened.push(await viewers.open(i % 2 === 0 ? 'chromium' : 'firefox'));
    await waitPlaying(opened);
    const stopWatching = logStalls(viewers);
    const startTraffic = proxy.traffic();
    const startSamples = await viewers.samples();
    const peerConnections = (): Promise<number[]> => Promise.all(opened.map((v) => v.evaluate<number>('(window.__swarmcastPeerConnections ?? []).length')));
    const startConnections = await peerConnections();
    const startCpu = cpuTimes();
    const latencies: number[] = [];
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
      for (const s of await viewers.samples()) if (s.latencyMs !== null && s.state === 'playing') latencies.push(s.latencyMs);
    }
    stopWatching();
    const endCpu = cpuTimes();
    const endSamples = await viewers.samples();
    const endConnections = await peerConnections();
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
      peerConnectionsPerViewer: endConnections.reduce((sum, n, i) => sum + n - startConnections[i]!, 0) / opened.length,
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
