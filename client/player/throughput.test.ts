// The throughput estimator on synthetic arrival timelines: streamed parts on fast and slow links, complete objects, rung choice.
import { describe, expect, test } from 'vitest';
import { PageLag, ThroughputEstimator, chooseRung, emergencyRung, flowThroughput, generousFlowThroughput, sampleTransfer, type Arrival } from './throughput.ts';

const PART_MS = 200;
const FRAME_MS = 1000 / 30;
/** A 2.5 Mbit/s rung: a 200 ms part of six frames, the first one large. */
const FRAMES = [30_000, 10_000, 10_000, 10_000, 10_000, 10_000];
const PART_BYTES = FRAMES.reduce((a, b) => a + b, 0);
const RATE_BPS = (PART_BYTES * 8000) / PART_MS;

/**
 * A part streamed while produced over a link of `linkBps`: frame i is produced at i × FRAME_MS and leaves as soon as
 * the link has carried what came before it, delivered in reads of at most `readBytes`.
 */
function streamedPart(linkBps: number, readBytes = 4096, backlogMs = 0): Arrival[] {
  const arrivals: Arrival[] = [];
  let linkFreeAtMs = -backlogMs;
  FRAMES.forEach((frameBytes, i) => {
    let t = Math.max(i * FRAME_MS, linkFreeAtMs);
    for (let left = frameBytes; left > 0; left -= readBytes) {
      const bytes = Math.min(readBytes, left);
      t += (bytes * 8000) / linkBps;
      arrivals.push({ atMs: t, bytes });
    }
    linkFreeAtMs = t;
  });
  return arrivals;
}

describe('sampleTransfer', () => {
  test('a streamed part on a link at 3× real time measures about 3× the rung, at 0.8× about 0.8×', () => {
    const fast = sampleTransfer({ requestedAtMs: 0, arrivals: streamedPart(3 * RATE_BPS), streamedMediaMs: PART_MS });
    const slow = sampleTransfer({ requestedAtMs: 0, arrivals: streamedPart(0.8 * RATE_BPS), streamedMediaMs: PART_MS });
    expect(fast?.kind).toBe('measured');
    expect(fast!.bps / RATE_BPS).toBeGreaterThan(2.5);
    expect(fast!.bps / RATE_BPS).toBeLessThan(3.3);
    expect(slow?.kind).toBe('measured');
    expect(slow!.bps / RATE_BPS).toBeGreaterThan(0.7);
    expect(slow!.bps / RATE_BPS).toBeLessThan(0.9);
  });

  test('download time ÷ bytes would call both links just fast enough', () => {
    for (const link of [3, 0.8]) {
      const arrivals = streamedPart(link * RATE_BPS);
      const naive = (PART_BYTES * 8000) / arrivals.at(-1)!.atMs;
      expect(naive / RATE_BPS).toBeGreaterThan(0.75);
      expect(naive / RATE_BPS).toBeLessThan(1.2);
    }
  });

  test('a streamed part whose frames each arrive in one read is only a floor at the rung rate', () => {
    const sample = sampleTransfer({ requestedAtMs: 0, arrivals: streamedPart(10 * RATE_BPS, 1 << 20), streamedMediaMs: PART_MS });
    expect(sample?.kind).toBe('at-least');
    expect(sample!.bps / RATE_BPS).toBeCloseTo(1, 1);
  });

  test('a part requested behind real time measures the link that held it back', () => {
    const arrivals = streamedPart(0.6 * RATE_BPS, 1 << 20, 150);
    const sample = sampleTransfer({ requestedAtMs: 0, arrivals, streamedMediaMs: PART_MS });
    expect(sample?.kind).toBe('measured');
    expect(sample!.bps / RATE_BPS).toBeCloseTo(0.6, 1);
  });

  test('a complete object measures bytes over request to last byte; small ones and empty ones say nothing', () => {
    expect(sampleTransfer({ requestedAtMs: 100, arrivals: [{ atMs: 150, bytes: 50_000 }, { atMs: 200, bytes: 50_000 }], streamedMediaMs: null })).toEqual({
      kind: 'measured',
      bps: 8_000_000,
    });
    expect(sampleTransfer({ requestedAtMs: 0, arrivals: [{ atMs: 5, bytes: 900 }], streamedMediaMs: null })).toBeNull();
    // All in one read after a long wait (the origin, or a page starved for CPU): a floor, not a slow link.
    expect(sampleTransfer({ requestedAtMs: 0, arrivals: [{ atMs: 400, bytes: 66_000 }], streamedMediaMs: null })).toEqual({ kind: 'at-least', bps: 1_320_000 });
    expect(sampleTransfer({ requestedAtMs: 0, arrivals: [], streamedMediaMs: PART_MS })).toBeNull();
  });

  test('a transfer the page could not read for much of its time is only a floor on the link', () => {
    // A part streamed on a fast link to a page that read its first frame, then could not run for 300 ms and read the
    // rest at once: late by the page's doing. Without the lag that reads as a link at a third of the rung.
    const arrivals = [{ atMs: 10, bytes: 30_000 }, { atMs: 380, bytes: PART_BYTES - 30_000 }];
    const unaware = sampleTransfer({ requestedAtMs: 0, arrivals, streamedMediaMs: PART_MS });
    expect(unaware?.kind).toBe('measured');
    expect(unaware!.bps / RATE_BPS).toBeLessThan(0.5);
    expect(sampleTransfer({ requestedAtMs: 0, arrivals, streamedMediaMs: PART_MS, pageLagMs: 300 })?.kind).toBe('at-least');
    // A complete object: 100 KB in reads over 100 ms is 8 Mbit/s; with the page away for 60 ms of them, at least that.
    const object = Array.from({ length: 11 }, (_, i) => ({ atMs: 10 + 10 * i, bytes: 10_000 }));
    expect(sampleTransfer({ requestedAtMs: 0, arrivals: object, streamedMediaMs: null })).toEqual({ kind: 'measured', bps: 8e6 });
    expect(sampleTransfer({ requestedAtMs: 0, arrivals: object, streamedMediaMs: null, pageLagMs: 60 })).toEqual({ kind: 'at-least', bps: 8e6 });
    // A little timer lag (under a quarter of the flow) leaves the measurement as it is.
    expect(sampleTransfer({ requestedAtMs: 0, arrivals: object, streamedMediaMs: null, pageLagMs: 20 })?.kind).toBe('measured');
  });
});

describe('generousFlowThroughput', () => {
  test('takes the time the page could not run between the first read and the last out of the flow', () => {
    // 1.6 Mbit/s in 2 KB reads every 10 ms; then the page is away for 100 ms and reads the next 2 KB late.
    const arrivals: Arrival[] = Array.from({ length: 5 }, (_, i) => ({ atMs: 10 * i, bytes: 2000, lagMs: 0 }));
    arrivals.push({ atMs: 150, bytes: 2000, lagMs: 100 });
    // The plain flow reads a link at a third of the pace (a lower bound); without the page's 100 ms, the link's own.
    expect(flowThroughput(arrivals)! / 1.6e6).toBeCloseTo(1 / 3, 2);
    expect(generousFlowThroughput(arrivals)! / 1.6e6).toBeCloseTo(1, 2);
    // Without lag the two agree; too little to time is nothing, as for the plain flow.
    const plain = arrivals.slice(0, 5);
    expect(generousFlowThroughput(plain)).toBe(flowThroughput(plain));
    expect(generousFlowThroughput(arrivals.slice(0, 3))).toBeNull();
    // Lag over nearly all of the flow leaves too little time to say anything.
    expect(generousFlowThroughput([...plain.slice(0, 4), { atMs: 140, bytes: 2000, lagMs: 125 }])).toBeNull();
  });
});

describe('PageLag', () => {
  test('adds up how late a timer fired beyond its interval, ignoring jitter, and counts an overdue tick at once', () => {
    const lag = new PageLag(25);
    lag.tick(0);
    lag.tick(25);
    lag.tick(55); // 5 ms late: jitter
    expect(lag.totalMs(55)).toBe(0);
    lag.tick(180); // 100 ms late: the page could not run
    expect(lag.totalMs(180)).toBe(100);
    expect(lag.totalMs(200)).toBe(100);
    // Before the next tick runs, a reader already sees it overdue by 45 ms.
    expect(lag.totalMs(250)).toBe(145);
    lag.tick(250);
    expect(lag.totalMs(250)).toBe(145);
    expect(new PageLag(25).totalMs(1000)).toBe(0);
  });
});

/**
 * A complete object of `bytes` over a token-bucket link of `linkBps` (as e2e/support/throttle-proxy.ts and tbf are): the
 * bucket's `burstBytes` come at once after the request, the rest in `sliceBytes` reads at the link's pace.
 */
function bucketObject(bytes: number, linkBps: number, burstBytes = 4000, sliceBytes = 2000): Arrival[] {
  const arrivals: Arrival[] = [{ atMs: 2, bytes: Math.min(burstBytes, bytes) }];
  for (let left = bytes - burstBytes; left > 0; left -= sliceBytes) {
    const slice = Math.min(sliceBytes, left);
    arrivals.push({ atMs: arrivals.at(-1)!.atMs + (slice * 8000) / linkBps, bytes: slice });
  }
  return arrivals;
}

describe('complete objects over a token bucket', () => {
  test('a small one measures the link, not the link plus the bucket\'s burst', () => {
    const arrivals = bucketObject(11_000, 1.6e6);
    const naive = (11_000 * 8000) / arrivals.at(-1)!.atMs;
    expect(naive / 1.6e6).toBeGreaterThan(1.15);
    const sample = sampleTransfer({ requestedAtMs: 0, arrivals, streamedMediaMs: null });
    expect(sample?.kind).toBe('measured');
    expect(sample!.bps / 1.6e6).toBeCloseTo(1, 2);
  });

  test('its flow so far tells the link within a few reads; a read or two, or a few ms, tell nothing', () => {
    const arrivals = bucketObject(66_000, 1.6e6);
    expect(flowThroughput(arrivals.slice(0, 3))).toBeNull();
    expect(flowThroughput(arrivals.slice(0, 4))! / 1.6e6).toBeCloseTo(1, 2);
    // An open link: the rest of the object in one read soon after the first.
    expect(flowThroughput([{ atMs: 1, bytes: 30_000 }, { atMs: 3, bytes: 36_000 }])).toBeNull();
    expect(flowThroughput([{ atMs: 1, bytes: 20_000 }, { atMs: 2, bytes: 20_000 }, { atMs: 4, bytes: 26_000 }])).toBeNull();
  });
});

describe('ThroughputEstimator', () => {
  test('falls at once, rises over a few samples, and takes floors only above itself', () => {
    const estimator = new ThroughputEstimator();
    expect(estimator.estimateBps).toBeNull();
    estimator.add({ kind: 'measured', bps: 6e6 });
    expect(estimator.estimateBps).toBe(6e6);
    estimator.add({ kind: 'measured', bps: 1.5e6 });
    expect(estimator.estimateBps).toBe(1.5e6);
    estimator.add({ kind: 'at-least', bps: 1e6 });
    const afterFloor = estimator.estimateBps!;
    estimator.add({ kind: 'at-least', bps: 0.5e6 });
    expect(estimator.estimateBps).toBe(afterFloor);
    for (let i = 0; i < 10; i++) estimator.add({ kind: 'measured', bps: 6e6 });
    expect(estimator.estimateBps!).toBeGreaterThan(5.5e6);
  });
});

describe('chooseRung', () => {
  const bitrates = [364_000, 1_064_000, 2_564_000];
  const base = { bitrates, current: 2, bufferMs: 600, sinceSwitchMs: 10_000, sinceIndependentMs: 0 };

  test('stays without an estimate and on a link that carries the rung', () => {
    expect(chooseRung({ ...base, estimateBps: null })).toBe(2);
    expect(chooseRung({ ...base, estimateBps: 6e6 })).toBe(2);
  });

  test('goes down to the rung the estimate carries when its reload from the independent part fits in the buffer', () => {
    expect(chooseRung({ ...base, estimateBps: 1.5e6 })).toBe(1);
    // 1 s into the segment, reloading 1 s of the middle rung takes 0.7 s: more than half the buffer, so the lowest rung.
    expect(chooseRung({ ...base, estimateBps: 1.5e6, sinceIndependentMs: 1000 })).toBe(0);
  });

  test('goes up one rung, reloading little, with room in the estimate, buffer and time since the last switch', () => {
    const up = { ...base, current: 0, estimateBps: 6e6, sinceIndependentMs: 200 };
    expect(chooseRung(up)).toBe(1);
    expect(chooseRung({ ...up, sinceIndependentMs: 0 })).toBe(1);
    // Reloading 1.8 s of the middle rung is too much for the buffer.
    expect(chooseRung({ ...up, sinceIndependentMs: 1800, bufferMs: 500 })).toBe(0);
    // Not right after a segment's last part: the new rung would reload the whole segment (see `atSegmentEnd`).
    expect(chooseRung({ ...up, sinceIndependentMs: 0, atSegmentEnd: true })).toBe(0);
    expect(chooseRung({ ...up, bufferMs: 100 })).toBe(0);
    expect(chooseRung({ ...up, sinceSwitchMs: 1000 })).toBe(0);
    expect(chooseRung({ ...up, estimateBps: 1.4e6 })).toBe(0);
    // A link that carries the middle rung only just (1.6 Mbit/s for 1.06 Mbit/s) is not gone up onto.
    expect(chooseRung({ ...up, estimateBps: 1.6e6 })).toBe(0);
    // Deep into a long segment (10 s segments, 5 s in), even a fast link does not reload 5 s of the bigger rung.
    expect(chooseRung({ ...up, estimateBps: 100e6, sinceIndependentMs: 5000, bufferMs: 800 })).toBe(0);
    expect(chooseRung({ ...up, estimateBps: 100e6, sinceIndependentMs: 1000, bufferMs: 800 })).toBe(1);
  });

  test('going up, the reload counts the next part too, which the new rung loads before the buffer grows again', () => {
    // At 2 Mbit/s, 480p from 240p one part into the segment: 0.4 s of 480p is 0.21 s of link, over half of 0.4 s.
    const up = { ...base, current: 0, estimateBps: 2e6, sinceIndependentMs: 200, bufferMs: 400 };
    expect(chooseRung(up)).toBe(1);
    expect(chooseRung({ ...up, nextPartMs: 200 })).toBe(0);
    expect(chooseRung({ ...up, nextPartMs: 200, bufferMs: 800 })).toBe(1);
  });
});

describe('emergencyRung', () => {
  const bitrates = [364_000, 1_064_000, 2_564_000];
  const onTime = { level: 2, elapsedMs: 150, durationMs: 200, burstBps: null };
  const base = { bitrates, current: 2, bufferMs: 450, sinceSwitchMs: 10_000, sinceIndependentMs: 800, inFlight: onTime };

  test('carries on while the estimate carries the rung and the part in flight keeps real time', () => {
    expect(emergencyRung({ ...base, estimateBps: 6e6 })).toBeNull();
    expect(emergencyRung({ ...base, estimateBps: null })).toBeNull();
    expect(emergencyRung({ ...base, estimateBps: 6e6, inFlight: { ...onTime, elapsedMs: 220 } })).toBeNull();
  });

  test('abandons the part for a lower rung once the estimate falls below the rung', () => {
    // 1 s of the middle rung to reload at 1.5 Mbit/s (0.7 s) does not fit the buffer: the lowest rung.
    expect(emergencyRung({ ...base, estimateBps: 1.5e6 })).toBe(0);
    // At the segment's start, with a deep buffer, the middle rung's reload fits.
    expect(emergencyRung({ ...base, estimateBps: 1.5e6, sinceIndependentMs: 0, bufferMs: 1000 })).toBe(1);
  });

  test('abandons a part running late behind real time even before the estimate knows', () => {
    expect(emergencyRung({ ...base, estimateBps: 60e6, inFlight: { ...onTime, elapsedMs: 260 } })).toBe(0);
    // Late, but its bytes came in fast bursts: the producer is late, not the link; a lower rung would not help.
    expect(emergencyRung({ ...base, estimateBps: 60e6, inFlight: { ...onTime, elapsedMs: 260, burstBps: 50e6 } })).toBeNull();
  });

  test('a part late only by the time the page could not run is not late: the page\'s CPU, not the link', () => {
    // 400 ms for a 200 ms part, 250 ms of it the page's own: 150 ms of the link's.
    expect(emergencyRung({ ...base, estimateBps: 60e6, inFlight: { ...onTime, elapsedMs: 400, pageLagMs: 250 } })).toBeNull();
    // 600 ms, 250 of them the page's: still 350 ms of the link's for 200 ms of media, late.
    expect(emergencyRung({ ...base, estimateBps: 60e6, inFlight: { ...onTime, elapsedMs: 600, pageLagMs: 250 } })).toBe(0);
    // An estimate below the rung still abandons it, however busy the page.
    expect(emergencyRung({ ...base, estimateBps: 1.5e6, inFlight: { ...onTime, pageLagMs: 250 } })).toBe(0);
  });

  test('abandons a complete part whose bytes so far flow slower than its rung, long before it runs late', () => {
    const early = { ...onTime, elapsedMs: 40 };
    expect(emergencyRung({ ...base, estimateBps: 60e6, inFlight: { ...early, flowBps: 1.6e6 } })).toBe(0);
    expect(emergencyRung({ ...base, estimateBps: 60e6, inFlight: { ...early, flowBps: 40e6 } })).toBeNull();
    expect(emergencyRung({ ...base, estimateBps: 60e6, inFlight: { ...early, flowBps: null } })).toBeNull();
  });

  test('carries on when even the lowest rung\'s reload would outlast the buffer (10 s segments, 5 s in)', () => {
    expect(emergencyRung({ ...base, estimateBps: 1.5e6, sinceIndependentMs: 5000 })).toBeNull();
    expect(emergencyRung({ ...base, estimateBps: 60e6, sinceIndependentMs: 5000, inFlight: { ...onTime, elapsedMs: 260 } })).toBeNull();
  });

  test('never from the lowest rung', () => {
    expect(emergencyRung({ ...base, current: 0, estimateBps: 1e5, inFlight: { ...onTime, level: 0, elapsedMs: 900 } })).toBeNull();
  });
});
