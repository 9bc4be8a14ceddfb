// The lowest H.264 or AV1 level that covers a picture size at a frame rate, written into an RFC 6381 codec string (pure code).

/** H.264 levels (ITU-T H.264 Table A-1): level_idc, max macroblocks per frame, max macroblocks per second. */
const AVC_LEVELS: readonly { idc: number; frameMbs: number; mbPerS: number }[] = [
  { idc: 0x14, frameMbs: 396, mbPerS: 11_880 },
  { idc: 0x15, frameMbs: 792, mbPerS: 19_800 },
  { idc: 0x16, frameMbs: 1620, mbPerS: 20_250 },
  { idc: 0x1e, frameMbs: 1620, mbPerS: 40_500 },
  { idc: 0x1f, frameMbs: 3600, mbPerS: 108_000 },
  { idc: 0x20, frameMbs: 5120, mbPerS: 216_000 },
  { idc: 0x28, frameMbs: 8192, mbPerS: 245_760 },
  { idc: 0x2a, frameMbs: 8704, mbPerS: 522_240 },
  { idc: 0x32, frameMbs: 22_080, mbPerS: 589_824 },
  { idc: 0x33, frameMbs: 36_864, mbPerS: 983_040 },
  { idc: 0x34, frameMbs: 36_864, mbPerS: 2_073_600 },
];

/** AV1 levels (AV1 spec Annex A.3): seq_level_idx, max picture size and max display rate in samples. */
const AV1_LEVELS: readonly { idx: number; picSize: number; displayRate: number }[] = [
  { idx: 0, picSize: 147_456, displayRate: 4_423_680 },
  { idx: 1, picSize: 278_784, displayRate: 8_363_520 },
  { idx: 4, picSize: 665_856, displayRate: 19_975_680 },
  { idx: 5, picSize: 1_065_024, displayRate: 31_950_720 },
  { idx: 8, picSize: 2_359_296, displayRate: 70_778_880 },
  { idx: 9, picSize: 2_359_296, displayRate: 141_557_760 },
  { idx: 12, picSize: 8_912_896, displayRate: 267_386_880 },
  { idx: 13, picSize: 8_912_896, displayRate: 534_773_760 },
];

/**
 * `codec` with its level replaced by the lowest one whose limits cover width × height at `framerate` frames per second:
 * for `avc1`/`avc3` the last byte (level_idc), for `av01` the two-digit level field. Other codecs, and sizes beyond every
 * level, come back unchanged (the encoder's isConfigSupported then has the last word).
 */
export function codecForFramerate(codec: string, width: number, height: number, framerate: number): string {
  const avc = /^(avc[13]\.[0-9a-fA-F]{4})[0-9a-fA-F]{2}$/.exec(codec);
  if (avc) {
    const frameMbs = Math.ceil(width / 16) * Math.ceil(height / 16);
    const level = AVC_LEVELS.find((l) => frameMbs <= l.frameMbs && frameMbs * framerate <= l.mbPerS);
    return level ? `${avc[1]}${level.idc.toString(16).padStart(2, '0')}` : codec;
  }
  const av1 = /^(av01\.\d\.)(\d\d)([MH]\..*)$/.exec(codec);
  if (av1) {
    const samples = width * height;
    const level = AV1_LEVELS.find((l) => samples <= l.picSize && samples * framerate <= l.displayRate);
    return level ? `${av1[1]}${String(level.idx).padStart(2, '0')}${av1[3]}` : codec;
  }
  return codec;
}
