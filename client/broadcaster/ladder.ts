// The ABR ladder's rungs by name, the `&ladder=` and `&fps=` grammar that picks them, and the fit of a ladder to the source's size (pure code).
import type { Rung } from './config.ts';

/**
 * Firefox's rungs: AV1 Main 8-bit, which Firefox 153 on Linux encodes in real time where its H.264 cannot. Its top is
 * 360p because its AV1 encode latency at 480p, ~35 ms on a quiet two-core machine, passes 100 ms when the machine is
 * busy, where 360p stays at 20-30 ms (issue 18); 360p and 240p together measured 25 ms median, 53 ms p95 (issue 9).
 * Level 2.1 (`01M`) covers 360p30, level 2.0 (`00M`) 240p30. Chromium and Firefox both play AV1 in fMP4.
 */
const AV1_360P: Rung = { rendition: '360p', width: 640, height: 360, bitrate: 600_000, codec: 'av01.0.01M.08' };
const AV1_240P: Rung = { rendition: '240p', width: 426, height: 240, bitrate: 400_000, codec: 'av01.0.00M.08' };

/**
 * H.264 Constrained Baseline, what every Chromium encodes in software at realtime speed, each with the lowest level
 * whose macroblock rate covers it at 30 fps: 3.1 (`1f`, 108 000 MB/s) for 720p (3600 MBs × 30) and for 480p (1620 ×
 * 30 = 48 600, above level 3.0's 40 500), 2.1 (`15`, 19 800 MB/s) for 240p (405 × 30), 4.0 (`28`) for 1080p.
 * Firefox (153 ESR on Linux) encodes H.264 with libx264's default 40-frame lookahead, about 1.4 s behind whatever
 * WebCodecs asks, so each H.264 rung falls back to AV1: the larger ones to 360p (the largest Firefox sustains; the
 * duplicates are dropped, video-encoder.ts), 240p to 240p.
 */
export const RUNG_PRESETS: Readonly<Record<string, Rung>> = {
  '1080p': { rendition: '1080p', width: 1920, height: 1080, bitrate: 4_500_000, codec: 'avc1.420028', fallback: AV1_360P },
  '720p': { rendition: '720p', width: 1280, height: 720, bitrate: 2_500_000, codec: 'avc1.42001f', fallback: AV1_360P },
  '480p': { rendition: '480p', width: 854, height: 480, bitrate: 1_200_000, codec: 'avc1.42001f', fallback: AV1_360P },
  '360p': AV1_360P,
  '240p': { rendition: '240p', width: 426, height: 240, bitrate: 400_000, codec: 'avc1.420015', fallback: AV1_240P },
};

/**
 * Cores from which the default ladder adds 1080p. Measured in headless Chromium on a 2-core machine (software H.264,
 * realtime): 85 fps at 1080p and 137 fps at 720p with both cores, so 1080p + 720p + 480p + 240p at 30 fps would take
 * about 70 % of the whole machine, against about 30 % for 720p + 480p + 240p (`npm run bench -- encode`).
 */
const FULL_HD_MIN_CORES = 4;

/**
 * What `/broadcast` encodes without `&ladder=`, for a machine with this many logical cores
 * (`navigator.hardwareConcurrency`): 720p, 480p and 240p at 30 fps, plus 1080p from FULL_HD_MIN_CORES cores; rungs
 * taller than the source are left out later (rungsForSource). Firefox: 360p and 240p AV1.
 */
export function defaultLadderSpec(cores: number): string {
  return cores >= FULL_HD_MIN_CORES ? '1080p,720p,480p,240p' : '720p,480p,240p';
}

const MIN_BITRATE = 50_000;
const MAX_BITRATE = 50_000_000;

export class LadderError extends Error {
  override name = 'LadderError';
  readonly code = 'invalid-ladder';
  /** The ladder text as given. */
  readonly spec: string;

  constructor(spec: string, reason: string) {
    super(`Can't use the ladder “${spec}”: ${reason}.`);
    this.spec = spec;
  }
}

/**
 * Parses `RUNG[:BITRATE](,RUNG[:BITRATE])*`: RUNG one of RUNG_PRESETS' names, BITRATE bits per second as a number with
 * an optional `k` (×1000) or `M` (×1 000 000) suffix, e.g. `720p:2500k,480p,240p:300k`. A bitrate applies to the rung
 * and to its fallback of the same name. Returns the rungs highest first; throws LadderError for anything else.
 */
export function parseLadder(spec: string): Rung[] {
  const items = spec.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new LadderError(spec, 'list one or more rungs separated by commas, e.g. 720p,480p,240p');
  const seen = new Set<string>();
  const rungs = items.map((item) => {
    const [name = '', bitrateText, ...rest] = item.split(':');
    if (!Object.hasOwn(RUNG_PRESETS, name)) throw new LadderError(spec, `“${name}” is not a rung; use ${Object.keys(RUNG_PRESETS).join(', ')}`);
    const preset = RUNG_PRESETS[name]!;
    if (seen.has(name)) throw new LadderError(spec, `${name} appears twice`);
    seen.add(name);
    if (rest.length > 0) throw new LadderError(spec, `“${item}” has more than one “:”`);
    return bitrateText === undefined ? preset : withBitrate(preset, parseBitrate(spec, item, bitrateText));
  });
  return rungs.sort((a, b) => b.height - a.height);
}

/** The highest frame rate a broadcast may ask for (capture and every rung). */
export const MAX_FRAMERATE = 60;

export class FramerateError extends Error {
  override name = 'FramerateError';
  readonly code = 'invalid-framerate';
}

/** Parses `&fps=`: a whole number of frames per second, 1 to MAX_FRAMERATE, for the capture and every rung. */
export function parseFramerate(text: string): number {
  const fps = /^\d{1,3}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(fps >= 1 && fps <= MAX_FRAMERATE)) {
    throw new FramerateError(`Can't use the frame rate “${text}”: use a whole number of frames per second from 1 to ${MAX_FRAMERATE}, e.g. 30.`);
  }
  return fps;
}

function parseBitrate(spec: string, item: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  const scale = match?.[2]?.toLowerCase() === 'm' ? 1_000_000 : match?.[2]?.toLowerCase() === 'k' ? 1000 : 1;
  const bitrate = match ? Math.round(Number(match[1]) * scale) : Number.NaN;
  if (!(bitrate >= MIN_BITRATE && bitrate <= MAX_BITRATE)) {
    throw new LadderError(spec, `“${item}”: the bitrate must be ${MIN_BITRATE / 1000}k to ${MAX_BITRATE / 1_000_000}M bits/s, e.g. ${item.split(':')[0]}:1200k`);
  }
  return bitrate;
}

function withBitrate(rung: Rung, bitrate: number): Rung {
  const fallback = rung.fallback && rung.fallback.rendition === rung.rendition ? withBitrate(rung.fallback, bitrate) : rung.fallback;
  return { ...rung, bitrate, ...(fallback && { fallback }) };
}

/** A rung's picture size for a source: the source's aspect ratio inside the rung's box, in even numbers (4:2:0). */
export function fitRungSize(rung: Pick<Rung, 'width' | 'height'>, sourceWidth: number, sourceHeight: number): { width: number; height: number } {
  if (!(sourceWidth > 0 && sourceHeight > 0)) return { width: rung.width, height: rung.height };
  const scale = Math.min(rung.width / sourceWidth, rung.height / sourceHeight);
  const even = (n: number): number => Math.max(2, 2 * Math.round(n / 2));
  return { width: even(sourceWidth * scale), height: even(sourceHeight * scale) };
}

/**
 * Which of the chosen rungs (highest first) to encode for a source of this height: none taller than the source, as
 * upscaling only spends bits, but always the lowest one, so a tiny source still goes out.
 */
export function rungsForSource(rungs: readonly Rung[], sourceHeight: number): Rung[] {
  const fitting = rungs.filter((rung) => rung.height <= sourceHeight);
  return fitting.length > 0 ? fitting : rungs.slice(-1);
}
