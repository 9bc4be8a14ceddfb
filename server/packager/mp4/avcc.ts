// The packager's side of the AVCDecoderConfigurationRecord: Firefox's malformed records repaired before they are written
// into an init segment (reading and writing the record is shared/codecs/h264.ts).
import { parseAvcC, writeAvcC, type AvcDecoderConfig } from '../../../shared/codecs/h264.ts';

function hasDoubledHeader(set: Uint8Array): boolean {
  return set.byteLength > 2 && set[0] === set[1];
}

/**
 * Firefox (checked: ESR 153 on Linux) writes every parameter set into its `avcC` with the one-byte NAL header twice
 * (`67 67 42 c0 1f …`, `68 68 cb …`) and leaves the reserved bits clear. Decoders then read the SPS from the wrong
 * byte (ffmpeg: "sps_id 1 out of range"; Chromium's MSE rejects the init segment). An SPS's first byte after its
 * header is profile_idc, which the record repeats as AVCProfileIndication: an SPS whose header is doubled and whose
 * third byte, not its second, is that profile is this defect, and the same record's doubled PPS headers are too.
 */
export function repairAvcDecoderConfig(config: AvcDecoderConfig): AvcDecoderConfig {
  const doubled = config.sps.every((s) => hasDoubledHeader(s) && s[1] !== config.profile && s[2] === config.profile);
  if (!doubled) return config;
  const undouble = (s: Uint8Array): Uint8Array => (hasDoubledHeader(s) ? s.subarray(1) : s);
  return { ...config, sps: config.sps.map(undouble), pps: config.pps.map(undouble) };
}

/** The record as the init segment should carry it: parsed, repaired (see above), rewritten with its reserved bits. */
export function normaliseAvcC(bytes: Uint8Array): Uint8Array {
  return writeAvcC(repairAvcDecoderConfig(parseAvcC(bytes)));
}
