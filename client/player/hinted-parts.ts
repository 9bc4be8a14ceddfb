// Lists a media playlist's preload-hinted part as a part, so hls.js requests it while it is produced and its chunks stream in.
import type { HlsConfig, LoaderCallbacks, LoaderConfiguration, LoaderContext, PlaylistLoaderContext } from 'hls.js';
import { WrappingLoader } from './wrapping-loader.ts';

type LoaderClass = HlsConfig['loader'];
type PlaylistLoaderClass = NonNullable<HlsConfig['pLoader']>;

/** A part by its segment's media sequence number and its index in the segment. */
export interface PartRef {
  msn: number;
  part: number;
}

/**
 * hls.js requests only listed parts, and a part is listed once complete: so the newest frame it can append is a whole
 * part old. The part the playlist hints at next (EXT-X-PRELOAD-HINT TYPE=PART) is served while it is produced, chunk
 * by chunk: listed as a part of the part target's duration, hls.js loads it right after the one before, and its
 * chunks reach MSE as they are produced (hls-part-progress.ts). The real entry replaces it in the next reload. Returns
 * the rewritten playlist and the hinted part, or null when the playlist has no such hint (ended, or not LL-HLS).
 */
export function listHintedPart(playlist: string): { playlist: string; hint: PartRef } | null {
  const lines = playlist.split('\n');
  const hintAt = lines.findIndex((line) => line.startsWith('#EXT-X-PRELOAD-HINT:'));
  if (hintAt === -1) return null;
  const attrs = attributes(lines[hintAt]!.slice('#EXT-X-PRELOAD-HINT:'.length));
  const partTarget = Number(attributes(lines.find((line) => line.startsWith('#EXT-X-PART-INF:'))?.slice('#EXT-X-PART-INF:'.length) ?? '')['PART-TARGET']);
  const mediaSequence = Number(lines.find((line) => line.startsWith('#EXT-X-MEDIA-SEQUENCE:'))?.slice('#EXT-X-MEDIA-SEQUENCE:'.length));
  if (attrs.TYPE !== 'PART' || !attrs.URI || 'BYTERANGE-START' in attrs || !(partTarget > 0) || !Number.isInteger(mediaSequence)) return null;
  // The hint is the part after the last one listed: of the segment after the last complete one (EXTINF).
  const skipped = Number(attributes(lines.find((line) => line.startsWith('#EXT-X-SKIP:'))?.slice('#EXT-X-SKIP:'.length) ?? '')['SKIPPED-SEGMENTS'] ?? 0);
  let complete = 0;
  let partsAfter = 0;
  for (const line of lines) {
    if (line.startsWith('#EXTINF:')) {
      complete++;
      partsAfter = 0;
    } else if (line.startsWith('#EXT-X-PART:')) {
      partsAfter++;
    }
  }
  const hint = { msn: mediaSequence + skipped + complete, part: partsAfter };
  // A segment's first part starts on a keyframe.
  const independent = hint.part === 0 ? ',INDEPENDENT=YES' : '';
  lines.splice(hintAt, 0, `#EXT-X-PART:DURATION=${partTarget},URI="${attrs.URI}"${independent}`);
  return { playlist: lines.join('\n'), hint };
}

/**
 * hls.js asks its blocking reload for the part after the last one listed, which is the hinted part once that is
 * listed: held until then, the reload would come a part later than the next hint. So a request for the part after
 * `hint` asks for `hint` itself (answered once it is complete, hinting the next). Other requests are left as they are.
 */
export function hintedPartRequest(url: string, hint: PartRef | undefined): string {
  if (!hint) return url;
  const parsed = new URL(url, globalThis.location?.href);
  const msn = parsed.searchParams.get('_HLS_msn');
  const part = parsed.searchParams.get('_HLS_part');
  if (msn === null || part === null || Number(msn) !== hint.msn || Number(part) !== hint.part + 1) return url;
  parsed.searchParams.set('_HLS_part', String(hint.part));
  return parsed.href;
}

/** The attributes of a tag's attribute list (`KEY=value,KEY="quoted, value"`), quotes removed. */
function attributes(list: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of list.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) out[match[1]!] = match[2]!.replace(/^"|"$/g, '');
  return out;
}

/**
 * An hls.js playlist loader class over `Inner` applying `listHintedPart` and `hintedPartRequest` to the media playlists
 * `streamed` picks (by hls.js's level index).
 */
export function hintedPartPlaylistLoader(Inner: LoaderClass, streamed: (level: number | null) => boolean): PlaylistLoaderClass {
  /** The part each media playlist (by path) hinted at last. */
  const hints = new Map<string, PartRef>();
  const HintedPartPlaylistLoader = class extends WrappingLoader {
    constructor(config: HlsConfig) {
      super(new Inner(config));
    }

    load(context: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
      this.context = context;
      const path = new URL(context.url, globalThis.location?.href).pathname;
      context.url = hintedPartRequest(context.url, hints.get(path));
      const level = (context as PlaylistLoaderContext).level;
      this.inner.load(context, config, {
        ...callbacks,
        onSuccess: (response, stats, ctx, details) => {
          const listed = typeof response.data === 'string' && streamed(level) ? listHintedPart(response.data) : null;
          if (listed) hints.set(path, listed.hint);
          else hints.delete(path);
          callbacks.onSuccess(listed ? { ...response, data: listed.playlist } : response, stats, ctx, details);
        },
      });
    }
  };
  // hls.js hands a playlist loader playlist contexts only.
  return HintedPartPlaylistLoader as unknown as PlaylistLoaderClass;
}
