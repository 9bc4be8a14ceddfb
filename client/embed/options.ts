// The element's attributes read into what the player needs (playlist URL, latency mode, edges, ABR): pure, tested without a DOM.
import { LATENCY_MODES, isAbrMode, isLatencyMode, parseTargetLatencyMs, playbackUrl } from '../player/index.ts';
import type { AbrMode, LatencyMode } from '../player/index.ts';
import { isValidPlaybackToken } from '../../shared/playback-path.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';

/** An attribute the element cannot play with; `attribute` names it, `stream` is the stream asked for. */
export class EmbedAttributeError extends Error {
  override readonly name = 'EmbedAttributeError';
  readonly attribute: string;
  readonly stream: string | null;

  constructor(attribute: string, message: string, stream: string | null) {
    super(message);
    this.attribute = attribute;
    this.stream = stream;
  }
}

export interface EmbedOptions {
  /** The multivariant playlist on the server (or the first edge). */
  src: string;
  latencyMode: LatencyMode;
  /** Edge origins to fail over between; empty without `edges`. */
  edges: string[];
  /** How the rung is chosen: the player's own ABR (`streamed`), or hls.js's estimator (`hls.js`), kept to compare against. */
  abr: AbrMode;
  /** The lowest glass-to-glass latency to hold in `low` mode, ms; null without `target` (the player's default). */
  latencyTargetFloorMs: number | null;
}


/** Reads one attribute (`element.getAttribute`, or a query string's `get`). */
export type AttributeReader = (name: string) => string | null;

const OFF = new Set(['false', '0', 'off', 'no']);

/** A boolean attribute: absent gives `fallback`; present is on unless it says false/0/off/no (so `?autoplay=0` works). */
export function flag(value: string | null, fallback: boolean): boolean {
  return value === null ? fallback : !OFF.has(value.trim().toLowerCase());
}

/** The origin of an http(s) URL, or null for anything else. */
export function httpOrigin(value: string): string | null {
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * The player's options from the element's attributes: `stream` (required), `server` (an http(s) origin; else
 * `defaultServer`, where the element's script came from), `edges` (comma-separated http(s) origins, failover in that
 * order; they serve the stream instead of `server`), `latency` (`low` unless given), `target` (the lowest
 * glass-to-glass latency `low` mode holds, ms; the player's default unless given) and `abr` (`streamed` unless given;
 * `hls.js` is a comparison switch for benches and for browsers where the player's own ABR does badly) and `token`
 * (a playback token from the site's backend, for servers with PLAYBACK_SECRET; it rides as the `/t/TOKEN` prefix).
 */
export function embedOptions(read: AttributeReader, defaultServer: string): EmbedOptions {
  const stream = read('stream')?.trim() ?? '';
  if (!isValidStreamName(stream)) {
    const message = stream ? `"${stream}" is not a valid stream name: use 1 to 64 of a-z, 0-9, _ and -` : 'No stream chosen: set the stream attribute';
    throw new EmbedAttributeError('stream', message, stream || null);
  }
  const serverValue = read('server');
  const server = serverValue === null || serverValue.trim() === '' ? defaultServer : httpOrigin(serverValue);
  if (server === null) throw new EmbedAttributeError('server', `server "${serverValue}" is not an http(s) origin`, stream);
  const edges: string[] = [];
  for (const item of (read('edges') ?? '').split(',')) {
    if (item.trim() === '') continue;
    const origin = httpOrigin(item);
    if (origin === null) throw new EmbedAttributeError('edges', `edge "${item.trim()}" is not an http(s) origin`, stream);
    edges.push(origin);
  }
  const latency = read('latency')?.trim() || 'low';
  if (!isLatencyMode(latency)) throw new EmbedAttributeError('latency', `latency "${latency}" is not one of ${LATENCY_MODES.join(', ')}`, stream);
  const abr = read('abr')?.trim() || 'streamed';
  if (!isAbrMode(abr)) throw new EmbedAttributeError('abr', `abr "${abr}" is not one of streamed, hls.js`, stream);
  const targetValue = read('target');
  let latencyTargetFloorMs: number | null = null;
  if (targetValue !== null && targetValue.trim() !== '') {
    try {
      latencyTargetFloorMs = parseTargetLatencyMs(targetValue);
    } catch (err) {
      throw new EmbedAttributeError('target', (err as Error).message, stream);
    }
  }
  const token = read('token')?.trim() || undefined;
  if (token !== undefined && !isValidPlaybackToken(token)) throw new EmbedAttributeError('token', 'This broadcast needs a valid link: the token attribute is malformed.', stream);
  return { src: playbackUrl(stream, edges[0] ?? server, token), latencyMode: latency, edges, abr, latencyTargetFloorMs };
}
