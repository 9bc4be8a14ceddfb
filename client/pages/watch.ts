// Viewer page: reads ?stream=, ?latency= and ?abr=, plays /live/NAME/index.m3u8, and shows state, latency and stats.
import { LATENCY_MODES, SwarmcastPlayer, isAbrMode, isLatencyMode, playbackUrl } from '../player/index.ts';
import type { LatencyMode, PlayerState, PlayerStats, StateReason } from '../player/index.ts';
import { setUnhandledErrorReporter } from '../../shared/events.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`watch.html is missing #${id}`);
  return found as T;
}

const video = element<HTMLVideoElement>('video');
const ui = {
  streamName: element('stream-name'),
  badge: element('state-badge'),
  liveBadge: element('live-badge'),
  latencyOverlay: element('latency-overlay'),
  message: element('message'),
  messageTitle: element('message-title'),
  messageDetail: element('message-detail'),
  unmute: element<HTMLButtonElement>('unmute'),
  p2pNotice: element('p2p-notice'),
  shareLink: element<HTMLInputElement>('share-link'),
  copyLink: element<HTMLButtonElement>('copy-link'),
  latencyMode: element('latency-mode'),
  modeSwitch: element<HTMLAnchorElement>('mode-switch'),
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
  },
};

const params = new URLSearchParams(location.search);
const stream = params.get('stream') ?? '';
const latencyParam = params.get('latency') ?? 'low';
/** `&abr=hls.js`: hls.js's own bandwidth estimator instead of the player's (for comparison); anything else is the player's. */
const abrParam = params.get('abr') ?? 'streamed';
/** `&edges=http://a:8081,http://b:8082`: edges serving this stream, the first preferred; the player fails over between them. */
const edgesParam = params.get('edges');
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
// A page-level error (bad URL, an unhandled error) overrides whatever the player reports.
let pageError: string | null = null;

function showMessage(title: string, detail = ''): void {
  ui.message.hidden = false;
  ui.messageTitle.textContent = title;
  ui.messageDetail.textContent = detail;
}

function setPageState(state: PlayerState): void {
  document.body.dataset['state'] = state;
  ui.badge.className = `badge ${state}`;
  ui.badge.textContent = state;
  ui.stat.state.textContent = state;
  ui.liveBadge.hidden = state !== 'playing';
  ui.latencyOverlay.hidden = state !== 'playing';
}

function failPage(title: string, detail: string): void {
  pageError = title;
  setPageState('error');
  showMessage(title, detail);
}

function showState(state: PlayerState, reason: StateReason): void {
  if (pageError !== null) return;
  setPageState(state);
  switch (reason) {
    case 'playing':
      ui.message.hidden = true;
      return;
    case 'waiting-for-broadcast':
      showMessage(`Waiting for ${stream} to go live…`, 'Playback starts by itself as soon as the broadcast begins.');
      return;
    case 'retrying':
      showMessage('Connection lost, reconnecting…');
      return;
    case 'ended':
      showMessage('The broadcast has ended', `This page starts playing again if ${stream} goes live.`);
      return;
    case 'loading':
    case 'created':
      showMessage(`Connecting to ${stream}…`);
      return;
    case 'failed':
    case 'destroyed':
      return;
  }
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
  ui.latencyOverlay.textContent = stats.latencyMs === null ? '' : `${(stats.latencyMs / 1000).toFixed(1)} s behind live`;
}

function otherMode(mode: LatencyMode): LatencyMode {
  return LATENCY_MODES.find((m) => m !== mode) ?? mode;
}

const player = new SwarmcastPlayer(video, {
  latencyMode: isLatencyMode(latencyParam) ? latencyParam : 'low',
  edges: edges ?? [],
  abr: isAbrMode(abrParam) ? abrParam : 'streamed',
});
// Assigned rather than declared on Window: the broadcaster page exposes a different `swarmcast` in the same program.
const automation: { stats(): PlayerStats } = {
  stats: () => {
    const stats = player.stats();
    return pageError === null ? stats : { ...stats, state: 'error' };
  },
};
Object.assign(window, { swarmcast: automation });

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
  if (edges === null) {
    failPage(`Unknown edges "${edgesParam}"`, 'Use edges=http://host:port,http://host:port — the edge servers that carry this stream.');
    return;
  }
  ui.latencyMode.textContent = latencyParam;
  ui.p2pNotice.hidden = latencyParam !== 'p2p';
  const switched = new URL(location.href);
  switched.searchParams.set('latency', otherMode(latencyParam));
  ui.modeSwitch.href = switched.href;
  ui.modeSwitch.textContent = `switch to ${otherMode(latencyParam)}`;
  const share = new URL('/watch', location.href);
  share.searchParams.set('stream', stream);
  if (edges.length > 0) share.searchParams.set('edges', edges.join(','));
  ui.shareLink.value = share.href;

  player.on('state', showState);
  player.on('stats', showStats);
  player.on('autoplay', ({ muted }) => {
    ui.unmute.hidden = !muted;
  });
  player.on('error', (error) => {
    if (error.code === 'autoplay') {
      // Not fatal: the stream is there, the browser only wants a click before it plays.
      video.controls = true;
      showMessage('Click to start watching', error.message);
      ui.message.addEventListener('click', () => void video.play(), { once: true });
      video.addEventListener('play', () => (ui.message.hidden = true), { once: true });
      return;
    }
    console.error('[swarmcast] playback failed:', error);
    showMessage(error.message, 'Reload the page to try again.');
  });
  player.load(playbackUrl(stream, edges[0] ?? ''));
}

ui.unmute.addEventListener('click', () => {
  video.muted = false;
  ui.unmute.hidden = true;
});
ui.copyLink.addEventListener('click', () => {
  void navigator.clipboard?.writeText(ui.shareLink.value).then(() => {
    ui.copyLink.textContent = 'Copied';
  });
});

// A listener that threw with nobody to catch it leaves playback in an unknown state: say so on the page.
setUnhandledErrorReporter(({ error }) => {
  console.error('[swarmcast] unhandled error:', error);
  failPage('Something went wrong', `${error instanceof Error ? error.message : String(error)} — reload the page to try again.`);
});

start();
