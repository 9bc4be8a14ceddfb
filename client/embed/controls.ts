// What the element's controls show and do, as pure functions: keys to actions, the LIVE badge, seeking within the buffer.

export type KeyAction = 'toggle-play' | 'toggle-mute' | 'fullscreen' | 'seek-back' | 'seek-forward' | 'volume-up' | 'volume-down';

const KEYS: Readonly<Record<string, KeyAction>> = {
  ' ': 'toggle-play',
  k: 'toggle-play',
  m: 'toggle-mute',
  f: 'fullscreen',
  ArrowLeft: 'seek-back',
  ArrowRight: 'seek-forward',
  ArrowUp: 'volume-up',
  ArrowDown: 'volume-down',
};

/** The action of a key pressed with the player focused; null for other keys and for keys with Ctrl, Alt or Meta. */
export function keyAction(event: { key: string; ctrlKey: boolean; altKey: boolean; metaKey: boolean }): KeyAction | null {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  return KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key] ?? null;
}

/** How far behind live, for people: `3.2 s`, `1:05`, `1:02:03`. */
export function formatBehind(ms: number): string {
  if (ms < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const total = Math.floor(ms / 1000);
  const seconds = String(total % 60).padStart(2, '0');
  const minutes = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** Further behind than the latency the player holds by this much counts as "behind live" (a pause, a seek back). */
export const BEHIND_MARGIN_MS = 1500;

export interface LiveBadge {
  /** The viewer is behind the live edge and a click brings them back. */
  behind: boolean;
  text: string;
  /** The badge's accessible name. */
  label: string;
}

/** The LIVE badge from the player's latency and target (glass-to-glass, ms), and whether playback is paused. */
export function liveBadge(latencyMs: number | null, targetLatencyMs: number | null, paused: boolean): LiveBadge {
  const behind = paused || (latencyMs !== null && latencyMs > (targetLatencyMs ?? 0) + BEHIND_MARGIN_MS);
  // The accessible name starts with the visible text, as speech-input users say what they see.
  if (latencyMs === null) return { behind, text: 'LIVE', label: behind ? 'LIVE, paused: go to live' : 'LIVE' };
  const delay = formatBehind(latencyMs);
  return behind
    ? { behind, text: `LIVE −${delay}`, label: `LIVE −${delay}, behind live: go to live` }
    : { behind, text: `LIVE ${delay}`, label: `LIVE ${delay} behind the broadcaster` };
}

/** Arrow keys move this far. */
export const SEEK_STEP_S = 5;

/**
 * Where a seek by `deltaS` lands inside the seekable range; 'live' when it reaches the range's end (the live edge),
 * where the player's own live-edge position is the better target.
 */
export function seekTarget(currentS: number, deltaS: number, seekable: { start: number; end: number } | null): number | 'live' {
  if (!seekable) return deltaS > 0 ? 'live' : currentS;
  const to = currentS + deltaS;
  if (to >= seekable.end - 1) return 'live';
  return Math.max(seekable.start, to);
}

/** Volume after an arrow key, in steps of a tenth, within 0–1. */
export function stepVolume(volume: number, up: boolean): number {
  return Math.round(Math.min(1, Math.max(0, volume + (up ? 0.1 : -0.1))) * 10) / 10;
}

/** A state screen: what covers the video while it is not playing. */
export interface StateScreen {
  /** Also the screen's `data-screen`, for pages and tests. */
  kind: 'connecting' | 'starting-soon' | 'reconnecting' | 'ended' | 'error';
  title: string;
  detail: string;
  spinner: boolean;
  retry: boolean;
}

/** The screen for the player's state, or null when the video (or, before playback was asked for, the play button) shows. */
export function stateScreen(state: string, reason: string, errorMessage: string): StateScreen | null {
  const screen = (kind: StateScreen['kind'], title: string, detail = '', spinner = false, retry = false): StateScreen => ({ kind, title, detail, spinner, retry });
  if (state === 'error') return screen('error', 'Playback failed', errorMessage, false, true);
  if (state === 'connecting') {
    if (reason === 'waiting-for-broadcast') return screen('starting-soon', 'Starting soon', 'Playback starts by itself when the broadcast begins.');
    if (reason === 'retrying') return screen('reconnecting', 'Reconnecting…', '', true);
    return screen('connecting', 'Connecting…', '', true);
  }
  if (state === 'idle' && reason === 'ended') return screen('ended', 'The broadcast has ended', 'Playback starts again by itself if it goes live again.');
  return null;
}
