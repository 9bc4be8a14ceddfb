// Viewer page: reads ?stream=, ?latency=, ?target=, ?abr= and ?edges=, plays the stream in <swarmcast-player>, and shows its state, stats and embed code.
import '../embed/index.ts';
import type { LatencyMode, PlayerState, PlayerStats } from '../embed/index.ts';
import { LATENCY_MODES, emptyStartupTimeline, isLatencyMode, parseTargetLatencyMs } from '../player/index.ts';
import { embedIframeCode, embedScriptCode } from '../../shared/embed-code.ts';
import { setUnhandledErrorReporter } from '../../shared/events.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`watch.html is missing #${id}`);
  return found as T;
}

const ui = {
  streamName: element('stream-name'),
  badge: element('state-badge'),
  stage: element('stage'),
  message: element('message'),
  messageTitle: element('message-title'),
  messageDetail: element('message-detail'),
  p2pNotice: element('p2p-notice'),
  p2pOverlay: element('p2p-overlay'),
  shareLink: element<HTMLInputElement>('share-link'),
  copyLink: element<HTMLButtonElement>('copy-link'),
  embedCode: element<HTMLTextAreaElement>('embed-code'),
  copyEmbed: element<HTMLButtonElement>('copy-embed'),
  latencyMode: element('latency-mode'),
  modeSwitch: element<HTMLButtonElement>('mode-switch'),
  stat: {
    state: element('stat-state'),
    latency: element('stat-latency'),
    target: element('stat-target'),
    rate: element('stat-rate'),
    buffer: element('stat-buffer'),
    stalls: element('stat-stalls'),
    bitrate: element('stat-bitrate'),
    resolution: element('stat-resolution'),
    rung: element('stat-rung'),
    estimate: element('stat-estimate'),
    dropped: element('stat-dropped'),
    edge: element('stat-edge'),
    p2p: element('stat-p2p'),
    peers: element('stat-peers'),
  },
};

/** How often the stats panel reads the player: as often as the player measures (its default `statsIntervalMs`). */
const STATS_INTERVAL_MS = 1000;

const params = new URLSearchParams(location.search);
const stream = params.get('stream') ?? '';
const latencyParam = params.get('latency') ?? 'low';
/** `&target=400`: the lowest glass-to-glass latency `low` mode holds, ms (the player's default without it). */
const targetParam = params.get('target');
/** `&abr=hls.js`: hls.js's own bandwidth estimator instead of the player's (for comparison); anything else is the player's. */
const abrParam = params.get('abr');
/** `&edges=http://a:8081,http://b:8082`: edges serving this stream, the first preferred; the player fails over between them. */
const edgesParam = params.get('edges');
/** A playback token from the site that made this link, for servers with PLAYBACK_SECRET (not put in the share link: it is this viewer's). */
const tokenParam = params.get('token');
const edges = parseEdges(edgesParam);

/** The edge origins of `&edges=`, or null when one of them is not an http(s) origin. */
function parseEdges(value: string | null): string[] | null {
  if (value === null || value.trim() === '') return [];
  const origins: string[] = [];
  for (const item of value.split(',')) {
    try {
      const url = new URL(item.trim());
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
      origins.push(url.origin);
    } catch {
      return null;
    }
  }
  return origins;
}

const player = document.createElement('swarmcast-player');
// A page-level error (bad URL, an unhandled error) overrides whatever the player reports.
let pageError: string | null = null;

/** What stats() reports while no stream is loaded (the page refused its URL): nothing measured yet. */
function stillStats(state: PlayerState): PlayerStats {
  return {
    state,
    reason: state === 'error' ? 'failed' : 'created',
    latencyMode: isLatencyMode(latencyParam) ? latencyParam : 'low',
    latencyMs: null,
    targetLatencyMs: null,
    deliveryMs: null,
    bufferMs: 0,
    stalls: 0,
    bitrate: null,
    resolution: null,
    droppedFrames: 0,
    decodedFrames: 0,
    audioDecodedBytes: null,
    currentTime: 0,
    timeToFirstFrameMs: null,
    startup: emptyStartupTimeline(),
    level: -1,
    rendition: null,
    bandwidthEstimateBps: null,
    switches: 0,
    muted: false,
    playbackRate: 1,
    edge: null,
    edgeSwitches: 0,
    stuckPlayheadRecoveries: 0,
    earlyChunkPushes: null,
    bytesHttp: 0,
    bytesP2p: 0,
    peers: 0,
    rejectedP2pSegments: 0,
    bannedPeers: 0,
  };
}

// Assigned rather than declared on Window: the broadcaster page exposes a different `swarmcast` in the same program.
const automation: { stats(): PlayerStats } = {
  stats: () => {
    const stats = player.stats();
    if (pageError === null) return stats ?? stillStats('idle');
    return stats ? { ...stats, state: 'error' } : stillStats('error');
  },
};
Object.assign(window, { swarmcast: automation });

function setPageState(state: PlayerState): void {
  document.body.dataset['state'] = state;
  ui.badge.className = `badge ${state}`;
  ui.badge.textContent = state;
  ui.stat.state.textContent = state;
}

function failPage(title: string, detail: string): void {
  pageError = title;
  setPageState('error');
  ui.message.hidden = false;
  ui.messageTitle.textContent = title;
  ui.messageDetail.textContent = detail;
}

function formatSeconds(ms: number | null): string {
  return ms === null ? '—' : `${(ms / 1000).toFixed(2)} s`;
}

function formatBitrate(bitsPerSecond: number | null): string {
  if (bitsPerSecond === null) return '—';
  return bitsPerSecond >= 1e6 ? `${(bitsPerSecond / 1e6).toFixed(2)} Mb/s` : `${Math.round(bitsPerSecond / 1e3)} kb/s`;
}

function showStats(stats: PlayerStats): void {
  ui.stat.latency.textContent = formatSeconds(stats.latencyMs);
  ui.stat.target.textContent = formatSeconds(stats.targetLatencyMs);
  ui.stat.rate.textContent = stats.state === 'playing' ? `${stats.playbackRate.toFixed(2)}×` : '—';
  ui.stat.buffer.textContent = formatSeconds(stats.bufferMs);
  ui.stat.stalls.textContent = String(stats.stalls);
  ui.stat.bitrate.textContent = formatBitrate(stats.bitrate);
  ui.stat.resolution.textContent = stats.resolution ?? '—';
  ui.stat.rung.textContent = stats.rendition === null ? '—' : `${stats.rendition}${stats.switches > 0 ? ` (${stats.switches} switch${stats.switches === 1 ? '' : 'es'})` : ''}`;
  ui.stat.estimate.textContent = formatBitrate(stats.bandwidthEstimateBps);
  ui.stat.dropped.textContent = String(stats.droppedFrames);
  ui.stat.edge.textContent = stats.edge === null ? location.host : `${new URL(stats.edge).host}${stats.edgeSwitches > 0 ? ` (${stats.edgeSwitches} switch${stats.edgeSwitches === 1 ? '' : 'es'})` : ''}`;
  const p2p = peerShare(stats);
  ui.stat.p2p.textContent = p2p;
  ui.stat.peers.textContent = stats.latencyMode === 'p2p' ? String(stats.peers) : '—';
  // The overlay over the video: where this viewer's media comes from, live (p2p mode only).
  ui.p2pOverlay.hidden = stats.latencyMode !== 'p2p' || stats.state !== 'playing';
  ui.p2pOverlay.textContent = `P2P ${p2p} · ${stats.peers} peer${stats.peers === 1 ? '' : 's'}`;
}

/** Share of the media bytes that came from peers, with the amount (— outside p2p mode or before any media). */
function peerShare(stats: PlayerStats): string {
  const total = stats.bytesHttp + stats.bytesP2p;
  if (stats.latencyMode !== 'p2p' || total === 0) return '—';
  const rejected = stats.rejectedP2pSegments > 0 ? `, ${stats.rejectedP2pSegments} bad refused` : '';
  return `${Math.round((100 * stats.bytesP2p) / total)} % of ${(total / 1e6).toFixed(1)} MB${rejected}`;
}

function otherMode(mode: LatencyMode): LatencyMode {
  return LATENCY_MODES.find((m) => m !== mode) ?? mode;
}

/** The page follows the element's latency mode (its own menu or the switch here), and keeps `&latency=` in the URL. */
function showLatencyMode(mode: LatencyMode): void {
  ui.latencyMode.textContent = mode;
  ui.p2pNotice.hidden = mode !== 'p2p';
  ui.modeSwitch.textContent = `switch to ${otherMode(mode)}`;
  const url = new URL(location.href);
  // No `&latency=` means low: a page opened without it keeps its URL until the mode changes.
  if ((url.searchParams.get('latency') ?? 'low') === mode) return;
  url.searchParams.set('latency', mode);
  history.replaceState(history.state, '', url);
}

function showEmbedCode(): void {
  const form = document.querySelector<HTMLInputElement>('input[name="embed-form"]:checked')?.value;
  ui.embedCode.value = form === 'iframe' ? embedIframeCode(location.origin, stream) : embedScriptCode(location.origin, stream);
}

function copy(text: string, button: HTMLButtonElement, done: string): void {
  void navigator.clipboard?.writeText(text).then(() => {
    button.textContent = done;
  });
}

function start(): void {
  ui.streamName.textContent = stream || '—';
  document.title = stream ? `${stream} · Swarmcast` : 'Watch · Swarmcast';
  if (!isValidStreamName(stream)) {
    failPage(
      stream ? `"${stream}" is not a valid stream name` : 'No stream chosen',
      'Open /watch?stream=NAME, where NAME is 1 to 64 lowercase letters, digits, "_" or "-".',
    );
    return;
  }
  if (!isLatencyMode(latencyParam)) {
    failPage(`Unknown latency mode "${latencyParam}"`, `Use latency=${LATENCY_MODES.join(' or latency=')}.`);
    return;
  }
  if (targetParam !== null) {
    try {
      parseTargetLatencyMs(targetParam);
    } catch (err) {
      failPage(`Unknown latency target "${targetParam}"`, `${(err as Error).message}: use e.g. target=400.`);
      return;
    }
  }
  if (edges === null) {
    failPage(`Unknown edges "${edgesParam}"`, 'Use edges=http://host:port,http://host:port — the edge servers that carry this stream.');
    return;
  }
  const share = new URL('/watch', location.href);
  share.searchParams.set('stream', stream);
  if (edges.length > 0) share.searchParams.set('edges', edges.join(','));
  ui.shareLink.value = share.href;
  showEmbedCode();
  showLatencyMode(latencyParam);

  player.addEventListener('statechange', (event) => {
    if (pageError === null) setPageState(event.detail.state);
  });
  player.addEventListener('error', (event) => {
    // Refused autoplay is not a failure: the element's play button starts it with the viewer's click.
    if (event.detail.code !== 'autoplay') console.error('[swarmcast] playback failed:', event.detail.message);
  });
  new MutationObserver(() => {
    const mode = player.getAttribute('latency');
    if (mode !== null && isLatencyMode(mode)) showLatencyMode(mode);
  }).observe(player, { attributes: true, attributeFilter: ['latency'] });
  ui.modeSwitch.addEventListener('click', () => {
    const mode = player.getAttribute('latency');
    player.setAttribute('latency', otherMode(mode !== null && isLatencyMode(mode) ? mode : 'low'));
  });
  setInterval(() => {
    const stats = player.stats();
    if (stats) showStats(stats);
  }, STATS_INTERVAL_MS);

  player.setAttribute('stream', stream);
  player.setAttribute('latency', latencyParam);
  if (edges.length > 0) player.setAttribute('edges', edges.join(','));
  if (abrParam === 'hls.js') player.setAttribute('abr', abrParam);
  if (tokenParam) player.setAttribute('token', tokenParam);
  if (targetParam !== null) player.setAttribute('target', targetParam);
  player.setAttribute('autoplay', '');
  ui.stage.prepend(player);
}

ui.copyLink.addEventListener('click', () => copy(ui.shareLink.value, ui.copyLink, 'Copied'));
ui.copyEmbed.addEventListener('click', () => copy(ui.embedCode.value, ui.copyEmbed, 'Copied embed code'));
for (const radio of document.querySelectorAll('input[name="embed-form"]')) radio.addEventListener('change', showEmbedCode);

// A listener that threw with nobody to catch it leaves playback in an unknown state: say so on the page.
setUnhandledErrorReporter(({ error }) => {
  console.error('[swarmcast] unhandled error:', error);
  failPage('Something went wrong', `${error instanceof Error ? error.message : String(error)} — reload the page to try again.`);
});

start();
