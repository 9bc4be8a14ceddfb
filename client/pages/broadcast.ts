// The broadcaster page: reads ?stream/&source/&ladder/&fps/&key/&autostart, drives a Broadcaster, shows preview, status, stats and errors.
import {
  Broadcaster,
  BroadcastError,
  DEFAULT_CONFIG,
  FramerateError,
  LadderError,
  defaultLadderSpec,
  NO_SESSION,
  idleRungStats,
  isSourceKind,
  parseFramerate,
  parseLadder,
  type BroadcasterState,
  type BroadcasterStats,
  type RungStats,
  type SourceKind,
} from '../broadcaster/index.ts';
import { setUnhandledErrorReporter } from '../../shared/events.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';

declare global {
  interface Window {
    swarmcast: { stats(): BroadcasterStats };
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`broadcast.html lacks #${id}`);
  return el as T;
};

const ui = {
  badge: $('badge'),
  stage: $('stage'),
  video: $<HTMLVideoElement>('preview'),
  placeholder: $('placeholder'),
  liveTag: $('live-tag'),
  form: $<HTMLFormElement>('controls'),
  source: $<HTMLSelectElement>('source'),
  stream: $<HTMLInputElement>('stream'),
  key: $<HTMLInputElement>('key'),
  ladder: $<HTMLInputElement>('ladder'),
  fps: $<HTMLInputElement>('fps'),
  rungs: $('rungs'),
  button: $<HTMLButtonElement>('golive'),
  notice: $('notice'),
  reconnecting: $('reconnecting'),
  watchLink: $<HTMLAnchorElement>('watch-link'),
  copy: $<HTMLButtonElement>('copy'),
  encoderPanel: $('encoder-panel'),
  rtmpServer: $<HTMLInputElement>('rtmp-server'),
  rtmpKey: $<HTMLInputElement>('rtmp-key'),
  copyRtmpServer: $<HTMLButtonElement>('copy-rtmp-server'),
  copyRtmpKey: $<HTMLButtonElement>('copy-rtmp-key'),
  rtmpFields: $<HTMLDivElement>('rtmp-fields'),
  srtFields: $<HTMLDivElement>('srt-fields'),
  srtUrl: $<HTMLInputElement>('srt-url'),
  copySrtUrl: $<HTMLButtonElement>('copy-srt-url'),
  srtPassphraseNote: $<HTMLParagraphElement>('srt-passphrase-note'),
  whipFields: $<HTMLDivElement>('whip-fields'),
  whipUrl: $<HTMLInputElement>('whip-url'),
  whipToken: $<HTMLInputElement>('whip-token'),
  copyWhipUrl: $<HTMLButtonElement>('copy-whip-url'),
  copyWhipToken: $<HTMLButtonElement>('copy-whip-token'),
};

const BADGE_TEXT: Record<BroadcasterState, string> = { idle: 'Offline', connecting: 'Connecting…', live: 'Live', error: 'Error' };

const params = new URLSearchParams(location.search);
const fromUrl = params.get('stream');
const requestedSource = params.get('source') ?? 'camera';
let broadcaster: Broadcaster | undefined;
/** An error found on the page before going live: a bad stream name, ladder or frame rate. */
let pageError: { message: string; code: string } | null = null;
let canvasPreview: HTMLCanvasElement | undefined;

// A key in the link goes into the field and out of the address bar at once, so it is not in a link the broadcaster shares.
const keyFromUrl = params.get('key');
if (keyFromUrl !== null) {
  ui.key.value = keyFromUrl;
  const withoutKey = new URL(location.href);
  withoutKey.searchParams.delete('key');
  history.replaceState(history.state, '', withoutKey.href);
}

ui.source.value = isSourceKind(requestedSource) ? requestedSource : 'camera';
ui.ladder.value = params.get('ladder') ?? defaultLadderSpec(navigator.hardwareConcurrency);
ui.fps.value = params.get('fps') ?? String(DEFAULT_CONFIG.framerate);
if (fromUrl !== null) {
  ui.stream.value = fromUrl;
  // A valid name from the link is fixed for this page; a bad one stays editable so it can be corrected.
  ui.stream.readOnly = isValidStreamName(fromUrl);
}

window.swarmcast = { stats: () => broadcaster?.stats() ?? idleStats() };

function idleStats(): BroadcasterStats {
  return {
    state: pageError ? 'error' : 'idle',
    source: ui.source.value as SourceKind,
    ...NO_SESSION,
    connectionState: 'new',
    ...ladderPreview(),
    segmentTargetMs: null,
    error: pageError?.message ?? null,
    errorCode: pageError?.code ?? null,
  };
}

/** The rungs the ladder field asks for, as they would start (none while it is invalid). */
function ladderPreview(): Pick<BroadcasterStats, 'renditions' | 'rungs'> {
  try {
    const ladder = parseLadder(ui.ladder.value);
    return { renditions: ladder.map((r) => r.rendition), rungs: ladder.map((r) => idleRungStats(r)) };
  } catch {
    return { renditions: [], rungs: [] };
  }
}

/** The first problem with what the form holds, or null when it can go live. */
function formProblem(): { message: string; code: string } | null {
  const name = streamNameProblem(ui.stream.value.trim());
  if (name) return { message: name, code: 'invalid-stream-name' };
  try {
    parseLadder(ui.ladder.value);
    parseFramerate(ui.fps.value);
    return null;
  } catch (err) {
    if (err instanceof LadderError || err instanceof FramerateError) return { message: err.message, code: err.code };
    throw err;
  }
}

function streamNameProblem(name: string): string | null {
  if (name === '') return 'Enter a stream name to go live.';
  if (!isValidStreamName(name)) return `“${name}” can't be a stream name: use 1 to 64 lowercase letters, digits, “-” or “_”.`;
  return null;
}

function showError(message: string | null): void {
  ui.notice.textContent = message ?? '';
  ui.notice.hidden = message === null;
}

function setState(state: BroadcasterState): void {
  document.body.dataset.state = state;
  ui.badge.textContent = BADGE_TEXT[state];
  ui.badge.className = `badge ${state}`;
  ui.liveTag.hidden = state !== 'live';
  const busy = state === 'connecting' || state === 'live';
  ui.button.textContent = state === 'live' ? 'Stop' : state === 'connecting' ? 'Cancel' : 'Go live';
  ui.source.disabled = busy;
  ui.stream.disabled = busy;
  ui.key.disabled = busy;
  ui.ladder.disabled = busy;
  ui.fps.disabled = busy;
  render(window.swarmcast.stats());
}

function updateWatchLink(): void {
  const name = ui.stream.value.trim();
  const url = new URL('/watch', location.origin);
  if (name) url.searchParams.set('stream', name);
  ui.watchLink.href = url.href;
  ui.watchLink.textContent = url.href;
}

/** Where studio encoders publish, from the server's /api/config; a port is undefined while unknown or with that path off. */
interface EncoderPorts {
  rtmp?: number;
  srt?: number;
  srtPassphrase?: boolean;
  whip?: boolean;
}
let encoderPorts: EncoderPorts = {};

/**
 * What an OBS or ffmpeg user pastes: RTMP's server and stream key (the key in the stream key, as OBS sends it), SRT's
 * one address (the key in its streamid; written as is: ffmpeg 5.1 does not decode %-escapes there), WHIP's endpoint on
 * this server with the key as its bearer token.
 */
function updateEncoderPanel(): void {
  const { rtmp, srt, srtPassphrase, whip } = encoderPorts;
  if (rtmp === undefined && srt === undefined && !whip) return;
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  const name = ui.stream.value.trim();
  const key = ui.key.value.trim();
  if (rtmp !== undefined) {
    ui.rtmpServer.value = `rtmp://${host}:${rtmp}/live`;
    ui.rtmpKey.value = name && key ? `${name}?key=${encodeURIComponent(key)}` : name;
    ui.rtmpFields.hidden = false;
  }
  if (srt !== undefined) {
    ui.srtUrl.value = name ? `srt://${host}:${srt}?streamid=publish:${name}${key ? `:${key}` : ''}` : '';
    ui.srtPassphraseNote.hidden = !srtPassphrase;
    ui.srtFields.hidden = false;
  }
  if (whip) {
    ui.whipUrl.value = name ? `${location.origin}/api/whip/${name}` : '';
    ui.whipToken.value = key;
    ui.whipFields.hidden = false;
  }
  ui.encoderPanel.hidden = false;
}

function copyText(button: HTMLButtonElement, text: () => string): void {
  button.addEventListener('click', () => {
    void navigator.clipboard?.writeText(text()).then(() => {
      const label = button.textContent;
      button.textContent = 'Copied';
      setTimeout(() => (button.textContent = label), 1500);
    });
  });
}

function showPreview(preview: MediaStream | HTMLCanvasElement | null): void {
  canvasPreview?.remove();
  canvasPreview = undefined;
  ui.video.srcObject = null;
  ui.video.hidden = true;
  ui.placeholder.hidden = preview !== null;
  if (preview instanceof MediaStream) {
    ui.video.srcObject = preview;
    ui.video.hidden = false;
    void ui.video.play().catch(() => undefined);
  } else if (preview) {
    canvasPreview = preview;
    ui.stage.prepend(preview);
  }
}

const formatBytes = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(0)} kB` : `${n} B`;

const formatDuration = (ms: number): string => {
  const s = Math.floor(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
};

function render(stats: BroadcasterStats): void {
  const live = stats.state === 'live';
  const values: Record<string, string> = {
    state: stats.state,
    timeLive: live ? formatDuration(stats.timeLiveMs) : '–',
    fps: live ? stats.fps.toFixed(1) : '–',
    bitrate: live ? `${(stats.bitrateKbps / 1000).toFixed(2)} Mbit/s` : '–',
    dropped: String(stats.droppedFrames),
    queue: String(stats.encoderQueue),
    encodeLatency: live && stats.encodeLatencyMs !== null ? `${stats.encodeLatencyMs.toFixed(0)} ms` : '–',
    connection: stats.connectionState,
    frames: String(stats.framesSent),
    bytes: formatBytes(stats.bytesSent),
    codec: [stats.videoCodec, stats.audioCodec].filter(Boolean).join(' + ') || '–',
  };
  for (const el of document.querySelectorAll<HTMLElement>('[data-stat]')) {
    el.textContent = values[el.dataset.stat ?? ''] ?? '';
  }
  ui.rungs.replaceChildren(...stats.rungs.map((rung) => rungRow(rung, live)));
  ui.reconnecting.hidden = !(live && stats.reconnecting);
}

const RUNG_STATE_TEXT: Record<RungStats['state'], string> = { idle: 'ready', encoding: 'encoding', fallback: 'fallback', dropped: 'dropped' };

/** Why a live rung is not sent in full, in a broadcaster's words. */
const LEVEL_REASON_TEXT: Record<NonNullable<RungStats['levelReason']>, string> = {
  uplink: 'upload too slow',
  cpu: 'computer too busy',
  backpressure: 'upload backed up',
};

/** "encoding", or e.g. "lowered to 1.5 Mbit/s: upload too slow", "paused: computer too busy". */
function rungStateText(rung: RungStats, live: boolean): string {
  const state = RUNG_STATE_TEXT[rung.state];
  if (!live || rung.level === 'full') return state;
  const why = rung.levelReason ? `: ${LEVEL_REASON_TEXT[rung.levelReason]}` : '';
  if (rung.level === 'paused') return `paused${why}`;
  return `lowered to ${(rung.bitrateKbps / 1000).toFixed(1)} Mbit/s${why}`;
}

function rungRow(rung: RungStats, live: boolean): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset.rendition = rung.configured;
  row.dataset.state = rung.state;
  row.dataset.level = live ? rung.level : 'full';
  const name = rung.rendition === rung.configured ? rung.rendition : `${rung.configured} → ${rung.rendition}`;
  const sent = live && rung.state !== 'dropped' ? `${rung.sendKbps} of ${rung.bitrateKbps} kbit/s` : `${rung.bitrateKbps} kbit/s`;
  const cells = [
    name,
    rungStateText(rung, live),
    rung.codec,
    `${rung.width}×${rung.height}`,
    sent,
    String(rung.droppedFrames),
    live && rung.encodeLatencyMs !== null ? `${rung.encodeLatencyMs.toFixed(0)} ms` : '–',
  ];
  for (const text of cells) {
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }
  return row;
}

async function goLive(): Promise<void> {
  const name = ui.stream.value.trim();
  const problem = formProblem();
  if (problem) {
    pageError = problem;
    showError(problem.message);
    setState('error');
    return;
  }
  pageError = null;
  showError(null);
  await broadcaster?.close();
  const current = new Broadcaster({
    streamName: name,
    source: ui.source.value as SourceKind,
    config: { ladder: parseLadder(ui.ladder.value), framerate: parseFramerate(ui.fps.value) },
    publishKey: ui.key.value.trim() || undefined,
  });
  broadcaster = current;
  current.on('state', setState);
  current.on('stats', render);
  current.on('preview', showPreview);
  current.on('error', (err) => showError(err.message));
  try {
    await current.start();
  } catch (err) {
    // The Broadcaster already reported it through `error`; anything else is a bug worth surfacing.
    if (!(err instanceof BroadcastError)) showError(`Something went wrong: ${String(err)}`);
  }
}

// A listener that threw with nobody to catch it leaves the broadcast in an unknown state: say so on the page.
setUnhandledErrorReporter(({ error }) => {
  console.error('[swarmcast] unhandled error:', error);
  showError(`Something went wrong: ${error instanceof Error ? error.message : String(error)}`);
  setState('error');
});

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const state = broadcaster?.state;
  if (state === 'live' || state === 'connecting') void broadcaster?.stop();
  else void goLive();
});
/** Clears a page error once the form is fixed, and shows the ladder it would start. */
function onFormInput(): void {
  if (pageError && formProblem() === null) {
    pageError = null;
    showError(null);
    setState('idle');
  } else if (!broadcaster) {
    render(window.swarmcast.stats());
  }
}
ui.stream.addEventListener('input', () => {
  updateWatchLink();
  updateEncoderPanel();
  onFormInput();
});
ui.key.addEventListener('input', updateEncoderPanel);
copyText(ui.copyRtmpServer, () => ui.rtmpServer.value);
copyText(ui.copyRtmpKey, () => ui.rtmpKey.value);
copyText(ui.copySrtUrl, () => ui.srtUrl.value);
copyText(ui.copyWhipUrl, () => ui.whipUrl.value);
copyText(ui.copyWhipToken, () => ui.whipToken.value);
// Without an answer (an older server, RTMP and SRT off) the encoder panel stays hidden: the page itself still publishes.
void fetch('/api/config')
  .then((res) =>
    res.ok ? (res.json() as Promise<{ rtmp?: { port?: unknown }; srt?: { port?: unknown; passphrase?: unknown }; whip?: unknown }>) : null,
  )
  .then((config) => {
    encoderPorts = {
      ...(typeof config?.rtmp?.port === 'number' && { rtmp: config.rtmp.port }),
      ...(typeof config?.srt?.port === 'number' && { srt: config.srt.port, srtPassphrase: config.srt.passphrase === true }),
      ...(config?.whip === true && { whip: true }),
    };
    updateEncoderPanel();
  })
  .catch(() => undefined);
ui.ladder.addEventListener('input', onFormInput);
ui.fps.addEventListener('input', onFormInput);
copyText(ui.copy, () => ui.watchLink.href);
window.addEventListener('pagehide', () => void broadcaster?.stop());

updateWatchLink();
// A page opened without a stream name waits for one; any other problem in the link is shown at once.
const initialProblem = fromUrl === null && formProblem()?.code === 'invalid-stream-name' ? null : formProblem();
if (initialProblem) {
  pageError = initialProblem;
  showError(initialProblem.message);
  setState('error');
} else {
  setState('idle');
  if (params.get('autostart') === '1') void goLive();
}
