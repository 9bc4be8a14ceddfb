// Checks segments received from peers against the SHA-256 digests the origin publishes next to each media playlist
// (`/live/NAME/RENDITION/digests.json`): a peer can send anything, the origin's digest says what the segment is.
import { SEGMENT_DIGESTS } from '../../shared/playback-path.ts';

/** The body of `digests.json`: digest (SHA-256, base64) by segment file name as the playlist's URI names it. */
interface DigestsBody {
  segments: Record<string, string>;
}

type FetchJson = (url: string) => Promise<unknown>;

/** How many fetches of a rendition's digests one unlisted segment may cause (the segment may be newer than a cached copy). */
const FETCHES_PER_UNLISTED_SEGMENT = 2;
/** Between those fetches: an edge may cache digests.json for about a part duration. */
const REFETCH_DELAY_MS = 250;

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  return response.json();
}

function isDigestsBody(value: unknown): value is DigestsBody {
  if (typeof value !== 'object' || value === null) return false;
  const segments = (value as { segments?: unknown }).segments;
  return typeof segments === 'object' && segments !== null && Object.values(segments).every((d) => typeof d === 'string');
}

export async function sha256Base64(data: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** `…/NAME/REND/1a2b-17.m4s?x` → `…/NAME/REND/digests.json` and `1a2b-17.m4s`. */
function locate(segmentUrl: string): { digestsUrl: string; name: string } {
  const url = new URL(segmentUrl, globalThis.location?.href);
  const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  return { digestsUrl: new URL(SEGMENT_DIGESTS, url).href, name };
}

/**
 * The digests of every rendition a player has checked a segment of, fetched when a segment is not listed yet (a segment
 * is listed from the moment the playlist names it). Concurrent checks share one fetch per rendition.
 */
export class SegmentDigests {
  readonly #fetchJson: FetchJson;
  /** Digests by segment name, by digests.json URL: the rendition's window as its last fetch listed it. */
  readonly #known = new Map<string, Map<string, string>>();
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #refetchDelayMs: number;

  constructor(options: { fetchJson?: FetchJson; refetchDelayMs?: number } = {}) {
    this.#fetchJson = options.fetchJson ?? fetchJson;
    this.#refetchDelayMs = options.refetchDelayMs ?? REFETCH_DELAY_MS;
  }

  /** Whether `data` is the segment at `segmentUrl` as the origin published it; false when no digest can be had. */
  async verify(segmentUrl: string, data: ArrayBuffer): Promise<boolean> {
    const { digestsUrl, name } = locate(segmentUrl);
    let expected = this.#known.get(digestsUrl)?.get(name);
    for (let attempt = 0; expected === undefined && attempt < FETCHES_PER_UNLISTED_SEGMENT; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, this.#refetchDelayMs));
      await this.#refresh(digestsUrl);
      expected = this.#known.get(digestsUrl)?.get(name);
    }
    if (expected === undefined) return false;
    return (await sha256Base64(data)) === expected;
  }

  #refresh(digestsUrl: string): Promise<void> {
    let pending = this.#inFlight.get(digestsUrl);
    if (!pending) {
      pending = this.#load(digestsUrl).finally(() => this.#inFlight.delete(digestsUrl));
      this.#inFlight.set(digestsUrl, pending);
    }
    return pending;
  }

  async #load(digestsUrl: string): Promise<void> {
    let body: unknown;
    try {
      body = await this.#fetchJson(digestsUrl);
    } catch (err) {
      // Unverifiable segments are refused, so the segment comes over HTTP: nothing worse than no peers.
      console.warn(`[swarmcast] segment digests unavailable (${String(err)}); peer-delivered segments are refused`);
      return;
    }
    if (!isDigestsBody(body)) {
      console.warn(`[swarmcast] ${digestsUrl} is not a digests document; peer-delivered segments are refused`);
      return;
    }
    // Only the playlist window is listed: what fell out of it is not asked for again.
    this.#known.set(digestsUrl, new Map(Object.entries(body.segments)));
  }
}
