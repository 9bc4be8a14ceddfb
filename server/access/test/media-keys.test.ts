// Media keys: key periods on the segment grid, keys forgotten once no served segment uses them, and CBC runs that are
// byte for byte what a one-shot AES-128-CBC encryption (and so hls.js's and ffmpeg's decryption) expects.
import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CbcRun, encryptResource, encryptsStream, ivAttribute, MediaKeyError, StreamKeys } from '../index.ts';

function decrypt(key: Buffer, iv: Buffer, data: Uint8Array): Buffer {
  const decipher = createDecipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

describe('encryptsStream', () => {
  it('encrypts the listed streams, every stream with *, none by default', () => {
    expect(encryptsStream({ streams: ['news'], rotationSegments: 10 }, 'news')).toBe(true);
    expect(encryptsStream({ streams: ['news'], rotationSegments: 10 }, 'sport')).toBe(false);
    expect(encryptsStream({ streams: '*', rotationSegments: 10 }, 'sport')).toBe(true);
    expect(encryptsStream({ streams: [], rotationSegments: 10 }, 'news')).toBe(false);
  });
});

describe('StreamKeys', () => {
  it('gives every segment of a key period the same random key and IV, and a new period new ones', () => {
    const keys = new StreamKeys('cam', 3);
    const first = keys.forSegment(0);
    expect(first.key.byteLength).toBe(16);
    expect(first.iv.byteLength).toBe(16);
    expect(keys.forSegment(2)).toBe(first);
    const second = keys.forSegment(3);
    expect(second.period).toBe(1);
    expect(second.key.equals(first.key)).toBe(false);
    expect(second.iv.equals(first.iv)).toBe(false);
    expect(ivAttribute(second)).toMatch(/^0x[0-9a-f]{32}$/);
    // Another stream's keys are its own.
    expect(new StreamKeys('other', 3).forSegment(0).key.equals(first.key)).toBe(false);
  });

  it('holds a key only from its first segment until no served segment is in its period', () => {
    const keys = new StreamKeys('cam', 2);
    expect(keys.get(0)).toBeUndefined();
    keys.forSegment(0);
    keys.forSegment(2);
    keys.forSegment(4);
    expect(keys.size).toBe(3);
    keys.forgetBefore(3);
    expect(keys.get(0)).toBeUndefined();
    expect(keys.get(1)).toBeDefined();
    expect(keys.size).toBe(2);
    // A forgotten period never comes back.
    expect(() => keys.forSegment(1)).toThrow(MediaKeyError);
    expect(() => keys.forSegment(1)).toThrow(/stream cam: segment 1 belongs to a key period already forgotten/);
  });

  it('looks a segment\'s key up without making one (heldFor), before its period starts and after it is forgotten', () => {
    const keys = new StreamKeys('cam', 2);
    expect(keys.heldFor(0)).toBeUndefined();
    expect(keys.size).toBe(0);
    const made = keys.forSegment(1);
    expect(keys.heldFor(0)).toBe(made);
    expect(keys.heldFor(2)).toBeUndefined();
    expect(keys.size).toBe(1);
    keys.forSegment(2);
    keys.forgetBefore(2);
    // A forgotten period is not an error for a lookup, just absent.
    expect(keys.heldFor(1)).toBeUndefined();
    expect(keys.heldFor(3)?.period).toBe(1);
  });

  it('refuses a rotation that is not a positive whole number of segments', () => {
    expect(() => new StreamKeys('cam', 0)).toThrow(MediaKeyError);
    expect(() => new StreamKeys('cam', 1.5)).toThrow(/stream cam/);
  });
});

describe('CbcRun', () => {
  it('gives out complete blocks as the media arrives and the padded last block at the end, the same bytes as one shot', () => {
    const key = new StreamKeys('cam', 10).forSegment(0);
    const clear = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
    const run = new CbcRun(key);
    const out: Uint8Array[] = [];
    let fed = 0;
    for (const size of [30, 1, 15, 16, 300, 638]) {
      const piece = run.update(clear.subarray(fed, fed + size));
      fed += size;
      out.push(piece);
      // Nothing is held back but the last incomplete block.
      expect(out.reduce((n, p) => n + p.byteLength, 0)).toBe(Math.floor(fed / 16) * 16);
    }
    out.push(run.final());
    const streamed = Buffer.concat(out);
    expect(streamed.byteLength).toBe(1008);
    expect(streamed.equals(Buffer.from(encryptResource(key, clear)))).toBe(true);
    expect(decrypt(key.key, key.iv, streamed).equals(clear)).toBe(true);
    // Padding is always added: a whole number of blocks gets one more block.
    expect(encryptResource(key, clear.subarray(0, 32)).byteLength).toBe(48);
  });
});
