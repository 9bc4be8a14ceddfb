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
export function engineConfigFor(settings: P2pSettings, config: P2pConfig, digests: SegmentDigests): PartialHlsJsP2PEngineConfig {
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
      validateP2PSegment: (url, _byteRange, data) => digests.verify(url, data),
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

/**
 * hls.js asks a server that can block playlist reloads for them in every mode (`_HLS_msn`, `_HLS_part`, `_HLS_skip`)
 * and names the playlist it got by that URL; p2p-media-loader finds a variant's segments by its URL as the multivariant
 * playlist lists it, and would ignore every update. Media playlists are reported under their URL without directives.
 */
function directiveFreePlaylists(Inner: LoaderClass): LoaderClass {
  return class DirectiveFreePlaylistLoader extends WrappingLoader {
    constructor(config: HlsConfig) {
      super(new Inner(config));
    }

    load(context: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
      this.context = context;
      this.inner.load(context, config, {
        ...callbacks,
        onSuccess: (response, stats, ctx, details) => {
          const playlist = 'type' in ctx && ctx.type === 'level';
          callbacks.onSuccess(playlist ? { ...response, url: withoutDeliveryDirectives(response.url || ctx.url) } : response, stats, ctx, details);
        },
      });
    }
  };
}

/** What a `p2p`-mode player adds to its stats: traffic by source and segments refused from peers. */
export interface P2pCounters {
  traffic: PeerTraffic;
  /** Called for each segment a peer sent that did not match its digest (the library then drops that peer). */
  rejected: (peerId: string | undefined) => void;
}

/** An hls.js instance whose segments come from peers where they can, fed into `counters`. */
export function createP2pHls(hlsConfig: Partial<HlsConfig>, settings: P2pSettings, config: P2pConfig, counters: P2pCounters): Hls {
  const { traffic } = counters;
  traffic.peersGone();
  const hls = new HlsWithP2p({
    ...hlsConfig,
    loader: directiveFreePlaylists(hlsConfig.loader ?? Hls.DefaultConfig.loader),
    p2p: engineConfigFor(settings, config, new SegmentDigests()),
  });
  const engine = hls.p2pEngine;
  engine.addEventListener('onChunkDownloaded', (bytes, source) => traffic.chunk(bytes, source));
  // Viewers take turns at fetching new segments over HTTP for the others; the odds follow the swarm's size.
  const redraw = (): void => engine.applyDynamicConfig({ core: { highDemandTimeWindow: drawHighDemandWindowS(config, traffic.peers) } });
  const redrawTimer = setInterval(redraw, config.highDemandTimeWindow.redrawMs);
  hls.on(Hls.Events.DESTROYING, () => clearInterval(redrawTimer));
  engine.addEventListener('onPeerConnect', ({ peerId, streamType }) => {
    traffic.peerConnected(peerId, streamType);
    redraw();
  });
  engine.addEventListener('onPeerClose', ({ peerId, streamType }) => {
    traffic.peerClosed(peerId, streamType);
    redraw();
  });
  engine.addEventListener('onSegmentError', ({ error, peerId }) => {
    if (error.type === 'p2p-segment-validation-failed') counters.rejected(peerId);
  });
  return hls;
}
