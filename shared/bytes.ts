// Byte arrays as every stage handles them: equality and concatenation over Uint8Array (no Buffer: pages use them too).

/** True when both are absent, or both hold the same bytes. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The parts one after another in a new array; `length`, when the caller already knows it, saves a pass. */
export function concatBytes(parts: readonly Uint8Array[], length?: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length ?? parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
