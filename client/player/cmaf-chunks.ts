// Finds the complete CMAF chunks (moof + mdat runs) in a part body arriving in pieces, from box headers alone.

/**
 * Follows a part's body as it arrives and says how far it holds whole `moof` + `mdat` chunks: MSE takes media only
 * box-complete, so a chunk is handed on once its `mdat` has fully arrived, with any boxes before it (`styp`, `prft`,
 * `moof`). Reads only box headers (size and type).
 */
export class CmafChunkSplitter {
  /** Bytes received so far. */
  #received = 0;
  /** Where the next box header starts (may be past `#received` while a box body is still arriving). */
  #nextBox = 0;
  /** End of the last complete `mdat`: everything before it is whole chunks. */
  #completeEnd = 0;
  /** The header of the box at `#nextBox` when it arrived split between pieces. */
  #header: number[] = [];
  /** No further boundary can be found (a box runs to the end of the body, or a size is invalid). */
  #stuck = false;

  /** How many bytes from the start of the body are whole chunks, after `piece` (the next bytes of the body) arrived. */
  push(piece: Uint8Array): number {
    const start = this.#received;
    this.#received += piece.byteLength;
    while (!this.#stuck) {
      if (this.#nextBox + HEADER_BYTES > this.#received) {
        // Keep what has arrived of the header at `#nextBox`.
        for (let at = Math.max(this.#nextBox + this.#header.length, start); at < this.#received; at++) this.#header.push(piece[at - start]!);
        return this.#completeEnd;
      }
      for (let at = Math.max(this.#nextBox + this.#header.length, start); at < this.#nextBox + HEADER_BYTES; at++) this.#header.push(piece[at - start]!);
      const [s0, s1, s2, s3, t0, t1, t2, t3] = this.#header as [number, number, number, number, number, number, number, number];
      const size = ((s0 << 24) | (s1 << 16) | (s2 << 8) | s3) >>> 0;
      // 0 (to the end of the body) and 1 (a 64-bit size; never used for a frame's chunk) leave no boundary to find.
      if (size < HEADER_BYTES) {
        this.#stuck = true;
        break;
      }
      const end = this.#nextBox + size;
      if (end > this.#received) {
        // The body of this box is still arriving: its header is kept for when it has.
        return this.#completeEnd;
      }
      if (t0 === 0x6d && t1 === 0x64 && t2 === 0x61 && t3 === 0x74) this.#completeEnd = end;
      this.#nextBox = end;
      this.#header = [];
    }
    return this.#completeEnd;
  }
}

const HEADER_BYTES = 8;
