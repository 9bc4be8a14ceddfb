// H.264/H.265 byte-stream (Annex B) framing: splitting on start codes, emulation-prevention removal, length-prefixed samples.

/**
 * The NAL units of an Annex-B byte stream, without their start codes (`00 00 01`, or `00 00 00 01`): views into
 * `bytes`. Bytes before the first start code are not a NAL unit and are skipped; zero bytes before a start code are
 * trailing_zero_8bits (or a 4-byte start code's first byte) and are not part of the NAL unit before it.
 */
export function splitAnnexB(bytes: Uint8Array): Uint8Array[] {
  const nals: Uint8Array[] = [];
  let start = -1;
  let i = 0;
  const end = bytes.byteLength;
  while (i + 2 < end) {
    if (bytes[i + 2]! > 1) {
      i += 3;
    } else if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) {
      if (start >= 0) pushTrimmed(nals, bytes, start, i);
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start >= 0) pushTrimmed(nals, bytes, start, end);
  return nals;
}

function pushTrimmed(nals: Uint8Array[], bytes: Uint8Array, start: number, end: number): void {
  while (end > start && bytes[end - 1] === 0) end--;
  if (end > start) nals.push(bytes.subarray(start, end));
}

/** The RBSP of a NAL unit: every `00 00 03` loses its `03` (H.264 7.4.1, H.265 7.4.2). Returns `nal` itself when there is none. */
export function removeEmulationPrevention(nal: Uint8Array): Uint8Array {
  let zeros = 0;
  let found = false;
  for (let i = 0; i < nal.byteLength; i++) {
    if (zeros >= 2 && nal[i] === 3) {
      found = true;
      break;
    }
    zeros = nal[i] === 0 ? zeros + 1 : 0;
  }
  if (!found) return nal;
  const out = new Uint8Array(nal.byteLength);
  let length = 0;
  zeros = 0;
  for (let i = 0; i < nal.byteLength; i++) {
    const byte = nal[i]!;
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[length++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, length);
}

/** NAL units as an MP4 sample: each behind its length as 4 bytes big-endian (lengthSizeMinusOne 3 in avcC/hvcC). */
export function lengthPrefixed(nals: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const nal of nals) total += 4 + nal.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const nal of nals) {
    view.setUint32(offset, nal.byteLength);
    out.set(nal, offset + 4);
    offset += 4 + nal.byteLength;
  }
  return out;
}
