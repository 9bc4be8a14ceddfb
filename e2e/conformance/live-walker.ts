// Walks a live LL-HLS media playlist like a low-latency client: blocking reloads for the next part, alternating full and delta
// (`_HLS_skip=YES`) requests, and a fetch of every init, part and segment URI the playlists name.
import type { DeliveryRequest, PlaylistSnapshot } from './checker.ts';
import { mediaUris, readMediaPlaylist, type MediaPlaylistModel } from './media-playlist.ts';

export interface FetchedObject {
  status: number;
  bytes: Uint8Array;
}

export interface TimedSnapshot extends PlaylistSnapshot {
  text: string;
  /** How long the server held the request, ms. */
  heldMs: number;
}

export interface WalkResult {
  snapshots: TimedSnapshot[];
  /** Every media object named by a playlist, by absolute URL. */
  objects: Map<string, FetchedObject>;
  /** Every hinted part, requested as soon as it was hinted (so held and streamed by the server), by absolute URL. */
  hinted: Map<string, FetchedObject>;
}

export class PlaylistFetchError extends Error {
  readonly code = 'playlist-fetch-failed';
}

/** The part a client asks for next: the one after the last listed part (or the hinted first part of a new segment). */
export function nextPart(playlist: MediaPlaylistModel): { msn: number; part: number } | null {
  const last = playlist.segments.at(-1);
  if (!last || playlist.ended) return null;
  if (last.uri === null) return { msn: last.msn, part: last.parts.length };
  return { msn: last.msn + 1, part: 0 };
}

export function playlistUrl(mediaUrl: URL, request: DeliveryRequest = {}): URL {
  const url = new URL(mediaUrl);
  if (request.msn !== undefined) url.searchParams.set('_HLS_msn', String(request.msn));
  if (request.part !== undefined) url.searchParams.set('_HLS_part', String(request.part));
  if (request.skip !== undefined) url.searchParams.set('_HLS_skip', request.skip);
  return url;
}

export async function fetchSnapshot(mediaUrl: URL, request: DeliveryRequest = {}): Promise<TimedSnapshot> {
  const startedMs = performance.now();
  const res = await fetch(playlistUrl(mediaUrl, request));
  const text = await res.text();
  const heldMs = performance.now() - startedMs;
  if (res.status !== 200) throw new PlaylistFetchError(`${playlistUrl(mediaUrl, request).search || 'playlist'}: ${res.status} ${text.trim()}`);
  return { text, heldMs, playlist: readMediaPlaylist(text), ...(Object.keys(request).length > 0 ? { request } : {}) };
}

/**
 * Follows the live edge for `durationMs`. Every other reload also asks for a delta update of the same part at the same
 * time, so the checker can compare the two. Media objects are fetched as soon as a playlist names them.
 */
export async function walkLivePlaylist(mediaUrl: URL, durationMs: number): Promise<WalkResult> {
  const snapshots: TimedSnapshot[] = [];
  const objects = new Map<string, FetchedObject>();
  const hinted = new Map<string, FetchedObject>();
  const pending: Promise<void>[] = [];
  const fetchOnce = (into: Map<string, FetchedObject>, uri: string): void => {
    const url = new URL(uri, mediaUrl).href;
    if (into.has(url)) return;
    into.set(url, { status: 0, bytes: new Uint8Array() });
    pending.push(
      fetch(url).then(async (res) => {
        into.set(url, { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) });
      }),
    );
  };
  const fetchNewObjects = (playlist: MediaPlaylistModel): void => {
    for (const uri of mediaUris(playlist)) fetchOnce(objects, uri);
    for (const uri of playlist.partHints) fetchOnce(hinted, uri);
  };
  let current = await fetchSnapshot(mediaUrl);
  snapshots.push(current);
  fetchNewObjects(current.playlist);
  const deadline = performance.now() + durationMs;
  for (let reload = 0; performance.now() < deadline; reload++) {
    const next = nextPart(current.playlist);
    if (!next) break;
    const answers =
      reload % 2 === 0
        ? [await fetchSnapshot(mediaUrl, next)]
        : await Promise.all([fetchSnapshot(mediaUrl, { ...next, skip: 'YES' }), fetchSnapshot(mediaUrl, next)]);
    for (const answer of answers) {
      snapshots.push(answer);
      fetchNewObjects(answer.playlist);
    }
    current = answers.at(-1)!;
  }
  await Promise.all(pending);
  return { snapshots, objects, hinted };
}
