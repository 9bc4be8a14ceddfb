// Reads the bit fields of a parameter set (an RBSP: emulation-prevention bytes already removed), MSB first.
import { CodecConfigError } from './errors.ts';

export class BitReader {
  #bytes: Uint8Array;
  #bit = 0;
  /** What is being read, for the error when it ends early ("the H.264 SPS"). */
  #what: string;

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#what = what;
  }

  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.#bytes[this.#bit >> 3];
      if (byte === undefined) throw new CodecConfigError(`${this.#what} ends early`);
      value = value * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }

  bit(): number {
    return this.bits(1);
  }

  skip(count: number): void {
    this.bits(count);
  }

  /** Exp-Golomb unsigned. */
  ue(): number {
    let zeros = 0;
    while (this.bits(1) === 0) {
      if (++zeros > 31) throw new CodecConfigError(`${this.#what} has an Exp-Golomb code longer than 32 bits`);
    }
    return this.bits(zeros) + 2 ** zeros - 1;
  }

  /** Exp-Golomb signed. */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}
