// Variant rates from segment sizes (peak and window average, the declared rate before any segment) and when they are republished.
import { describe, expect, it } from 'vitest';
import { stickyRates, variantRates } from './variant-bitrate.ts';

describe('variantRates', () => {
  it('uses the declared rate before a segment completes', () => {
    expect(variantRates([], 2_628_000)).toEqual({ peak: 2_628_000, average: 2_628_000 });
  });

  it('takes BANDWIDTH from the largest segment rate and AVERAGE-BANDWIDTH from the whole window', () => {
    // 2 s at 2 Mbit/s, 2 s at 3 Mbit/s, 1 s at 1 Mbit/s: 11 Mbit over 5 s.
    const rates = variantRates(
      [
        { bytes: 500_000, mediaDurationUs: 2_000_000 },
        { bytes: 750_000, mediaDurationUs: 2_000_000 },
        { bytes: 125_000, mediaDurationUs: 1_000_000 },
      ],
      9_999_000,
    );
    expect(rates).toEqual({ peak: 3_000_000, average: 2_200_000 });
  });

  it('leaves GAP time out of the rates and falls back to the declared rate for a window of gaps', () => {
    expect(variantRates([{ bytes: 250_000, mediaDurationUs: 1_000_000 }, { bytes: 0, mediaDurationUs: 0 }], 1)).toEqual({ peak: 2_000_000, average: 2_000_000 });
    expect(variantRates([{ bytes: 0, mediaDurationUs: 0 }], 800_000)).toEqual({ peak: 800_000, average: 800_000 });
  });

  it('rounds up to whole kilobits, so the peak stays at or above every segment and the average at or below the peak', () => {
    const rates = variantRates([{ bytes: 100_001, mediaDurationUs: 2_000_000 }, { bytes: 99_000, mediaDurationUs: 2_000_000 }], 0);
    expect(rates.peak).toBe(401_000);
    expect(rates.average).toBe(399_000);
    expect(rates.average).toBeLessThanOrEqual(rates.peak);
  });
});

describe('stickyRates', () => {
  const published = { peak: 1_000_000, average: 800_000 };

  it('publishes the first measurement', () => {
    expect(stickyRates(undefined, published)).toEqual(published);
  });

  it('keeps the published rates while both measurements stay within 20 % of them', () => {
    expect(stickyRates(published, { peak: 1_190_000, average: 650_000 })).toBe(published);
    expect(stickyRates(published, { peak: 810_000, average: 959_000 })).toBe(published);
  });

  it('republishes both rates once either one drifts by more than 20 %', () => {
    expect(stickyRates(published, { peak: 1_201_000, average: 800_000 })).toEqual({ peak: 1_201_000, average: 800_000 });
    expect(stickyRates(published, { peak: 1_000_000, average: 639_000 })).toEqual({ peak: 1_000_000, average: 639_000 });
  });
});
