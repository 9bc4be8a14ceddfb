// Transcoding ladders: `480p:1200k,240p:400k` parsed, and planned against a source's picture size (rungs at or above
// it skipped, widths kept to the source's aspect ratio).
import { TranscodeLadderError } from './errors.ts';

/** One rung as configured: the picture height and the encoder's target bitrate. */
export interface RungSpec {
  /** The rendition's name in playlists, `${height}p`. */
  rendition: string;
  height: number;
  /** Bits per second. */
  bitrate: number;
}

/** A rung planned for one source. */
export interface Rung extends RungSpec {
  /** Even, from the source's aspect ratio (4:2:0 needs even sizes). */
  width: number;
  /** The rung's wire trackId in the transcoded session. */
  trackId: number;
}

/** Rungs in one ladder: each is an encoder in the worker. */
export const MAX_RUNGS = 4;
const MIN_HEIGHT = 64;
const MAX_HEIGHT = 2160;
const MIN_BITRATE = 50_000;
const MAX_BITRATE = 50_000_000;
const RUNG = /^(\d{2,4})p:(\d+(?:\.\d+)?)([km]?)$/i;

/**
 * Parses a ladder: comma-separated `HEIGHTp:BITRATE` with BITRATE in bit/s, or with a `k`/`M` suffix. Empty (or
 * `off`) is no ladder. Rungs come out highest first. Throws TranscodeLadderError, naming `streamName` when given.
 */
export function parseLadder(text: string, streamName?: string): RungSpec[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'off') return [];
  const rungs = trimmed.split(',').map((item) => {
    const m = RUNG.exec(item.trim());
    if (!m) throw new TranscodeLadderError(streamName, `"${item.trim()}" is not HEIGHTp:BITRATE (e.g. 480p:1200k)`);
    const height = Number(m[1]);
    const unit = m[3]!.toLowerCase();
    const bitrate = Math.round(Number(m[2]) * (unit === 'k' ? 1000 : unit === 'm' ? 1_000_000 : 1));
    if (height < MIN_HEIGHT || height > MAX_HEIGHT || height % 2 !== 0) {
      throw new TranscodeLadderError(streamName, `height ${height} is not an even number from ${MIN_HEIGHT} to ${MAX_HEIGHT}`);
    }
    if (bitrate < MIN_BITRATE || bitrate > MAX_BITRATE) {
      throw new TranscodeLadderError(streamName, `bitrate ${bitrate} bit/s is not from ${MIN_BITRATE} to ${MAX_BITRATE}`);
    }
    return { rendition: `${height}p`, height, bitrate };
  });
  if (rungs.length > MAX_RUNGS) throw new TranscodeLadderError(streamName, `${rungs.length} rungs, at most ${MAX_RUNGS}`);
  if (new Set(rungs.map((r) => r.height)).size !== rungs.length) throw new TranscodeLadderError(streamName, 'two rungs of one height');
  return rungs.sort((a, b) => b.height - a.height);
}

/** A ladder written back as `parseLadder` reads it (`480p:1200k,240p:400k`). */
export function formatLadder(ladder: readonly RungSpec[]): string {
  return ladder.map((rung) => `${rung.rendition}:${rung.bitrate % 1000 === 0 ? `${rung.bitrate / 1000}k` : rung.bitrate}`).join(',');
}

/**
 * The rungs a source of `width`×`height` gets: those below its height whose name no source rendition has, each on
 * the lowest trackId the source does not use.
 */
export function planRungs(ladder: readonly RungSpec[], source: { width: number; height: number }, usedTrackIds: ReadonlySet<number>, usedRenditions: ReadonlySet<string>): Rung[] {
  const taken = new Set(usedTrackIds);
  const rungs: Rung[] = [];
  for (const spec of ladder) {
    if (spec.height >= source.height || usedRenditions.has(spec.rendition)) continue;
    let trackId = 0;
    while (taken.has(trackId)) trackId++;
    taken.add(trackId);
    const width = Math.max(2, Math.round((spec.height * source.width) / source.height / 2) * 2);
    rungs.push({ ...spec, width, trackId });
  }
  return rungs;
}
