// `p2p` mode's segment loading: hls.js with p2p-media-loader's engine, announcing to our own tracker only, checking every
// segment a peer sends against the origin's digests. Loaded with import() in `p2p` mode only, so `low` mode and a first
// load carry none of its bytes.
import Hls from 'hls.js/light';
import type { HlsConfig, LoaderCallbacks, LoaderConfiguration, LoaderContext } from 'hls.js';
import { HlsJsP2PEngine } from 'p2p-media-loader-hlsjs';
import type { PartialHlsJsP2PEngineConfig } from 'p2p-media-loader-hlsjs';
import { swarmIdFor } from '../../shared/p2p-swarm.ts';
import { parsePlaybackPath, splitPlaybackToken } from '../../shared/playback-path.ts';
import type { P2pConfig } from './config.ts';
import type { EdgeSet } from './edge-set.ts';
import { driftBackRate } from './p2p-drift.ts';
import { SegmentDigests } from './segment-digests.ts';
import type { PeerTraffic } from './stats.ts';
import { WrappingLoader } from './wrapping-loader.ts';

const HlsWithP2p = HlsJsP2PEngine.injectMixin(Hls);

/** The server's settings for peers: its answer to `GET /api/config` (absent fields and a missing endpoint mean none). */
const SERVER_CONFIG_PATH = '/api/config';

/** Where a player's peer engine announces, how its peers connect, and which swarm it joins. */
export interface P2pSettings {
  trackerUrl: string;
  iceServers: RTCIceServer[];
  /** Undefined when `src` is not a Swarmcast playback URL: the library then uses the playlist URL. */
  swarmId: string | undefined;
}

/**
 * `http://host:port/…` → `ws://host:port/tracker` (`https` → `wss`): the tracker of the server the stream plays from;
 * with the playback token as `?token=` when the stream has one (a server with playback tokens on admits a tracker
 * connection to that stream's swarms only; the announce URL is not a cached object, so a query is fine there).
 */
export function trackerUrlFor(src: string, token?: string): string {
  const url = new URL('/tracker', src);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token !== undefined) url.searchParams.set('token', token);
  return url.href;
}

function isIceServer(value: unknown): value is RTCIceServer {
  if (typeof value !== 'object' || value === null) return false;
  const urls = (value as { urls?: unknown }).urls;
  return typeof urls === 'string' || (Array.isArray(urls) && urls.every((u) => typeof u === 'string'));
}

/** The server's `iceServers` setting (`ICE_SERVERS`); none when it sets none or cannot be asked: host candidates only. */
async function serverIceServers(src: string): Promise<RTCIceServer[]> {
  try {
    const response = await fetch(new URL(SERVER_CONFIG_PATH, src), { cache: 'no-store' });
    if (!response.ok) return [];
    const body = (await response.json()) as { iceServers?: unknown };
    return Array.isArray(body.iceServers) ? body.iceServers.filter(isIceServer) : [];
  } catch (err) {
    console.warn(`[swarmcast] could not read the server's peer settings (${String(err)}); using host candidates only`);
    return [];
  }
}

export async function p2pSettingsFor(src: string, config: P2pConfig): Promise<P2pSettings> {
  // The token prefix is taken off first: the swarm is the stream's, whatever token each viewer holds.
  const split = splitPlaybackToken(new URL(src).pathname);
  const path = split ? parsePlaybackPath(split.path) : null;
  return {
    trackerUrl: config.trackerUrl ?? trackerUrlFor(src, split?.token),
    iceServers: config.iceServers ?? (await serverIceServers(src)),
    swarmId: path ? swarmIdFor(path.stream) : undefined,
  };
}

/** This viewer's high-demand window for the next while: a seeder's with a chance of seedersPerSwarm in the swarm's size. */
export function drawHighDemandWindowS(config: P2pConfig, peers: number, random: () => number = Math.random): number {
  const { viewerS, seederS, seedersPerSwarm } = config.highDemandTimeWindow;
  return random() < seedersPerSwarm / (peers + 1) ? seederS : viewerS;
}

/** p2p-media-loader's core settings for `p2p` mode: our tracker and ICE servers, the measured time windows, digest checks. */
export function engineConfigFor(
  settings: P2pSettings,
  config: P2pConfig,
  validate: (url: string, data: ArrayBuffer) => Promise<boolean>,
  httpRequestSetup?: (url: string, requestByteRange: { start: number; end?: number } | undefined, signal: AbortSignal) => Request,
): PartialHlsJsP2PEngineConfig {
  return {
    core: {
      announceTrackers: [settings.trackerUrl],
      rtcConfig: { iceServers: settings.iceServers },
      ...(settings.swarmId !== undefined && { swarmId: settings.swarmId }),
      // Alone so far: fetch everything at once, as a seeder.
      highDemandTimeWindow: config.highDemandTimeWindow.seederS,
      httpDownloadTimeWindow: config.httpDownloadTimeWindowS,
      p2pDownloadTimeWindow: config.p2pDownloadTimeWindowS,
      simultaneousHttpDownloads: config.simultaneousHttpDownloads,
      simultaneousP2PDownloads: config.simultaneousP2PDownloads,
      p2pNotReceivingBytesTimeoutMs: config.p2pNotReceivingBytesTimeoutMs,
      validateP2PSegment: (url, _byteRange, data) => validate(url, data),
      ...(httpRequestSetup && {
        httpRequestSetup: (url, _byteRange, signal, requestByteRange) => Promise.resolve(httpRequestSetup(url, requestByteRange, signal)),
      }),
    },
  };
}

type LoaderClass = HlsConfig['loader'];

/** `…/media.m3u8?_HLS_msn=5&_HLS_part=2&_HLS_skip=v2` → `…/media.m3u8`; other query parameters stay. */
export function withoutDeliveryDirectives(url: string): string {
  const parsed = new URL(url);
  for (const name of [...parsed.searchParams.keys()]) if (name.startsWith('_HLS_')) parsed.searchParams.delete(name);
  return parsed.href;
}

/** `url` on `origin` when it is on one of `edges` (edges serve the same paths), else `url`. */
function onOrigin(url: string, origin: string, edges: readonly string[]): string {
  const parsed = new URL(url);
  return edges.includes(parsed.origin) ? origin + parsed.pathname + parsed.search : url;
}

/**
 * hls.js asks a server that can block playlist reloads for them in every mode (`_HLS_msn`, `_HLS_part`, `_HLS_skip`)
 * and names the playlist it got by that URL; p2p-media-loader finds a variant's segments by its URL as the multivariant
 * playlist lists it, and would ignore every update. Media playlists are reported under their URL without directives.
 * With several edges, playlists are also reported on the first edge whichever edge served them: after a failover the
 * engine still knows the variant (and keeps sharing it), and its segment fetches are routed to the active edge.
 */
function directiveFreePlaylists(Inner: LoaderClass, edges: EdgeSet | null): LoaderClass {
  const canonical = (url: string): string => (edges ? onOrigin(url, edges.origins[0]!, edges.origins) : url);
  return class DirectiveFreePlaylistLoader extends WrappingLoader {
    constructor(config: HlsConfig) {
      super(new Inner(config));
    }

    load(context: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
      this.context = context;
      this.inner.load(context, config, {
        ...callbacks,
        onSuccess: (response, stats, ctx, details) => {
          const type = 'type' in ctx ? ctx.type : undefined;
          const url = response.url || ctx.url;
          const reported = type === 'level' ? canonical(withoutDeliveryDirectives(url)) : type === 'manifest' ? canonical(url) : url;
          callbacks.onSuccess(reported === url ? response : { ...response, url: reported }, stats, ctx, details);
        },
      });
    }
  };
}

/** What a `p2p`-mode player adds to its stats, and what it keeps for the session across reloads of the stream. */
export interface P2pCounters {
  traffic: PeerTraffic;
  /** Called for each segment a peer sent that did not match its digest (the peer is then banned and dropped). */
  rejected: (peerId: string | undefined) => void;
  /** Peer ids caught sending a bad segment: refused for the rest of the session. */
  banned: Set<string>;
}

/** An hls.js instance whose segments come from peers where they can, fed into `counters`; HTTP goes through `edges`. */
export function createP2pHls(hlsConfig: Partial<HlsConfig>, settings: P2pSettings, config: P2pConfig, counters: P2pCounters, edges: EdgeSet | null): Hls {
  const { traffic, banned } = counters;
  traffic.peersGone();
  const digests = new SegmentDigests();
  /** The peer each segment (by URL) is being downloaded from. */
  const peerOf = new Map<string, string>();
  // p2p-media-loader has no hook to refuse a connection: a banned peer that connects again is refused at the first
  // segment it sends, unhashed, which makes the library close the connection again; its bytes are not counted.
  const validate = async (url: string, data: ArrayBuffer): Promise<boolean> => {
    const peerId = peerOf.get(url);
    if (peerId !== undefined && banned.has(peerId)) return false;
    return digests.verify(url, data);
  };
  /** The edge each segment (by URL) was last fetched from, to fail that edge when the fetch fails. */
  const fetchedFrom = new Map<string, string>();
  const routeHttp = edges
    ? (url: string, range: { start: number; end?: number } | undefined, signal: AbortSignal): Request => {
        fetchedFrom.set(url, edges.active);
        const headers = range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : undefined;
        return new Request(edges.route(url), { headers, signal });
      }
    : undefined;
  const hls = new HlsWithP2p({
    ...hlsConfig,
    loader: directiveFreePlaylists(hlsConfig.loader ?? Hls.DefaultConfig.loader, edges),
    p2p: engineConfigFor(settings, config, validate, routeHttp),
  });
  const engine = hls.p2pEngine;
  engine.addEventListener('onChunkDownloaded', (bytes, source, peerId) => {
    if (source === 'p2p' && peerId !== undefined && banned.has(peerId)) return;
    traffic.chunk(bytes, source);
  });
  engine.addEventListener('onSegmentStart', ({ segment, downloadSource, peerId }) => {
    if (downloadSource === 'p2p' && peerId !== undefined) peerOf.set(segment.url, peerId);
  });
  engine.addEventListener('onSegmentLoaded', ({ segmentUrl }) => {
    peerOf.delete(segmentUrl);
    fetchedFrom.delete(segmentUrl);
  });
  engine.addEventListener('onSegmentAbort', ({ segment }) => {
    peerOf.delete(segment.url);
    fetchedFrom.delete(segment.url);
  });
  // Viewers take turns at fetching new segments over HTTP for the others; the odds follow the swarm's size.
  let drawHeldUntil = 0;
  const redraw = (): void => {
    if (performance.now() < drawHeldUntil) return;
    engine.applyDynamicConfig({ core: { highDemandTimeWindow: drawHighDemandWindowS(config, traffic.peers) } });
  };
  const redrawTimer = setInterval(redraw, config.highDemandTimeWindow.redrawMs);
  const driftTimer = setInterval(() => driftBack(hls, config), config.driftBack.intervalMs);
  hls.on(Hls.Events.DESTROYING, () => {
    clearInterval(redrawTimer);
    clearInterval(driftTimer);
  });
  engine.addEventListener('onPeerConnect', ({ peerId, streamType }) => {
    if (banned.has(peerId)) {
      console.warn(`[swarmcast] banned peer ${peerId} connected again; its segments are refused`);
      return;
    }
    traffic.peerConnected(peerId, streamType);
    redraw();
  });
  engine.addEventListener('onPeerClose', ({ peerId, streamType }) => {
    traffic.peerClosed(peerId, streamType);
    redraw();
  });
  engine.addEventListener('onSegmentError', ({ error, peerId, segment, downloadSource, streamType }) => {
    peerOf.delete(segment.url);
    if (error.type === 'p2p-segment-validation-failed' && peerId !== undefined && !banned.has(peerId)) {
      banned.add(peerId);
      traffic.peerClosed(peerId, streamType);
      counters.rejected(peerId);
      // The refused segment (and any other the bad peer was to send) comes over HTTP now, well before it is due.
      drawHeldUntil = performance.now() + config.refusedRefetchHoldMs;
      engine.applyDynamicConfig({ core: { highDemandTimeWindow: config.refusedRefetchWindowS } });
    }
    const from = fetchedFrom.get(segment.url);
    if (edges && downloadSource === 'http' && from !== undefined && isEdgeError(error.type)) {
      fetchedFrom.delete(segment.url);
      edges.fail(from, `${error.type} for a segment (${error.message || 'no answer'})`);
    }
  });
  return hls;
}

/** Segment fetch errors that say the edge is in trouble (no answer, an error status), not the content or the client. */
function isEdgeError(type: string): boolean {
  return type === 'http-error' || type === 'bytes-receiving-timeout';
}

/**
 * Slows a playhead that is less far behind the live edge than hls.js's target latency down until it is back there (see
 * driftBackRate). Measured as latencies rather than against `liveSyncPosition`, which hls.js clamps to the start of the
 * playlist: at go-live the drift starts at once, building up the thin buffer a viewer at the live edge has.
 */
function driftBack(hls: Hls, config: P2pConfig): void {
  const media = hls.media;
  if (!media || media.paused || media.seeking) return;
  const target = hls.targetLatency;
  // hls.js reports 0 until it has measured a latency.
  const aheadS = target === null || hls.latency === 0 ? null : target - hls.latency;
  const rate = driftBackRate(aheadS, media.playbackRate, config.driftBack);
  if (rate !== media.playbackRate) media.playbackRate = rate;
}
