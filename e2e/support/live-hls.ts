// Small readers of a live LL-HLS stream over HTTP for suites and benches: the media playlist URL and its preload hint.
import http from 'node:http';
import { multivariantPath, parseObjectName } from '../../shared/playback-path.ts';
import { pollUntil } from './poll.ts';

export interface PreloadHint {
  /** Part URL, absolute. */
  url: string;
  msn: number;
  part: number;
}

/** The first variant's media playlist URL of `/live/NAME/index.m3u8` at `baseUrl`, once the stream has media. */
export async function mediaPlaylistUrl(baseUrl: string, stream: string, timeoutMs = 20_000): Promise<string> {
  const multivariant = `${baseUrl}${multivariantPath(stream)}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(multivariant);
    const text = await res.text();
    const uri = text.split('\n').find((line) => line && !line.startsWith('#'));
    if (res.status === 200 && uri) return new URL(uri.trim(), multivariant).href;
    if (Date.now() > deadline) throw new Error(`no media playlist at ${multivariant}: ${res.status} ${text}`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

/** The EXT-X-PRELOAD-HINT part of a media playlist text, resolved against the playlist URL. */
export function preloadHintOf(playlist: string, playlistUrl: string): PreloadHint | null {
  const m = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(playlist);
  if (!m) return null;
  const name = m[1]!;
  const object = parseObjectName(name);
  if (object?.kind !== 'part') return null;
  return { url: new URL(name, playlistUrl).href, msn: object.msn, part: object.partIndex };
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** performance.now() when the last body byte arrived. */
  doneAtMs: number;
}

/**
 * A plain request (GET unless told) on its own connection, with no pooling and no decompression, so each call is one
 * independent client and encodings and validators can be checked byte for byte.
 */
export function rawGet(url: string, options: { headers?: Record<string, string>; method?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    http
      .request(url, { agent: false, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), doneAtMs: performance.now() }));
        res.on('error', reject);
      })
      .on('error', reject)
      .end();
  });
}

/** The segment URIs of a media playlist text, in order. */
export function segmentsOf(playlist: string): string[] {
  return playlist.split('\n').filter((line) => line && !line.startsWith('#'));
}

/** The media sequence numbers of a media playlist's complete segments, in order (from their names, `EPOCH-MSN.m4s`). */
export function segmentMsnsOf(playlist: string): number[] {
  return segmentsOf(playlist).map((uri) => {
    const object = parseObjectName(uri.slice(uri.lastIndexOf('/') + 1));
    if (object?.kind !== 'segment') throw new Error(`not a segment URI: ${uri}`);
    return object.msn;
  });
}

/** A playlist's text; throws on any answer but a 2xx, whose body is no playlist. */
export async function playlistText(url: string): Promise<string> {
  const res = await fetch(url);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

/** The URI of the playlist's last complete segment. */
export async function lastSegmentOf(playlistUrl: string): Promise<string | undefined> {
  return segmentsOf(await playlistText(playlistUrl)).at(-1);
}

/** Resolves once the playlist's last segment is a later one than when called (its count stops growing once the window is full). */
export async function nextSegment(playlistUrl: string, what: string, timeoutMs = 10_000): Promise<void> {
  const last = await lastSegmentOf(playlistUrl);
  await pollUntil(() => lastSegmentOf(playlistUrl), (now) => now !== last, timeoutMs, what);
}

/** The media playlist once it has an EXT-X-DISCONTINUITY after the segment `before`, followed by a complete segment. */
export function playlistAfterDiscontinuity(playlistUrl: string, before: string, timeoutMs = 30_000): Promise<string> {
  return pollUntil(
    () => playlistText(playlistUrl),
    (text) => /#EXT-X-DISCONTINUITY\n[\s\S]*#EXTINF/.test(text.split(`\n${before}\n`)[1] ?? ''),
    timeoutMs,
    `a complete segment after a discontinuity following ${before}`,
  );
}

/** The media playlist once it lists `count` complete segments, following the preload hint with blocking reloads. */
export async function playlistWithSegments(playlistUrl: string, count: number, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let url = playlistUrl;
  for (;;) {
    const playlist = (await rawGet(url)).body.toString();
    if (segmentsOf(playlist).length >= count) return playlist;
    if (Date.now() > deadline) throw new Error(`fewer than ${count} segments in time:\n${playlist}`);
    const hint = preloadHintOf(playlist, playlistUrl);
    url = hint ? `${playlistUrl}?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}` : playlistUrl;
    if (!hint) await new Promise((done) => setTimeout(done, 100));
  }
}
