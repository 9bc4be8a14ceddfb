// Adaptive publishing's steps: the order rungs are lowered and paused, the hysteresis and back-off of restoring, the CPU path.
import { describe, expect, it } from 'vitest';
import { AdaptivePublishing, DEFAULT_ADAPTATION, type PublishMeasurement, type RungLevel } from './adaptive-publishing.ts';

/** 720p, 480p, 240p and 128 kbit/s audio, as the default ladder. */
const BITRATES = [2_500_000, 1_200_000, 400_000];
const AUDIO = 128_000;
const TICK_MS = 500;

/** What one tick looks like; the counters are turned into running totals by `Feed`. */
interface Tick {
  queuedBytes?: number[];
  rttMs?: number | null;
  framesOverloaded?: number;
  encodeLatencyMs?: number | null;
  bitratePending?: boolean;
  /** Bytes the ingest's receipts count this tick; none: an ingest without receipts. */
  delivered?: number;
}

/** Feeds the policy one measurement per 500 ms and records the plan's levels after each. */
class Feed {
  atMs = 0;
  #captured = 0;
  #overloaded = 0;
  #offered = 0;
  #delivered: number | null = null;
  readonly policy: AdaptivePublishing;
  readonly changes: { atMs: number; levels: RungLevel[] }[] = [];

  constructor(policy: AdaptivePublishing) {
    this.policy = policy;
  }

  run(durationMs: number, tick: (atMs: number) => Tick): this {
    const until = this.atMs + durationMs;
    for (; this.atMs < until; this.atMs += TICK_MS) {
      const t = tick(this.atMs);
      this.#captured += 15;
      this.#overloaded += t.framesOverloaded ?? 0;
      this.#offered += 250_000;
      if (t.delivered !== undefined) this.#delivered = (this.#delivered ?? 0) + t.delivered;
      const m: PublishMeasurement = {
        atMs: this.atMs,
        queuedBytes: t.queuedBytes ?? [0, 0, 0, 0],
        bytesOffered: this.#offered,
        bytesDelivered: this.#delivered,
        rttMs: t.rttMs === undefined ? 2 : t.rttMs,
        framesCaptured: this.#captured,
        framesOverloaded: this.#overloaded,
        encodeLatencyMs: t.encodeLatencyMs === undefined ? 8 : t.encodeLatencyMs,
        bitratePending: t.bitratePending ?? false,
      };
      if (this.policy.update(m)) this.changes.push({ atMs: this.atMs, levels: this.levels });
    }
    return this;
  }

  get levels(): RungLevel[] {
    return this.policy.plan.map((p) => p.level);
  }
}

const healthy = (): Tick => ({});
/** The top rung's channel backs up by 100 KB a tick (the uplink carries much less than the ladder). */
const topBacksUp = (startMs: number) => (atMs: number): Tick => ({ queuedBytes: [((atMs - startMs) / TICK_MS + 1) * 100_000, 0, 0, 0] });
/**
 * The uplink carries a little less than the ladder: the two upper rungs' queues grow by 5 kB a tick each, whatever is
 * paused (what the uplink carried, 3.8 Mbit/s, stays above every ladder but the full one).
 */
const slightlyShort = (startMs: number) => (atMs: number): Tick => {
  const ticks = (atMs - startMs) / TICK_MS + 1;
  return { queuedBytes: [ticks * 5000, ticks * 5000, 0, 0] };
};
/** The two upper rungs' channels both back up (their shares of the link are below their rates), whatever is paused. */
const upperBackUp = (startMs: number) => (atMs: number): Tick => {
  const ticks = (atMs - startMs) / TICK_MS + 1;
  return { queuedBytes: [ticks * 100_000, ticks * 50_000, 0, 0] };
};

describe('AdaptivePublishing', () => {
  it('lowers the top rung, then pauses it, then lowers and pauses the next, and never touches the lowest rung', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(2000, healthy);
    feed.run(30_000, slightlyShort(feed.atMs));
    expect(feed.changes.map((c) => c.levels)).toEqual([
      ['lowered', 'full', 'full'],
      ['paused', 'full', 'full'],
      ['paused', 'lowered', 'full'],
      ['paused', 'paused', 'full'],
    ]);
    // One step at a time, no faster than the step-down interval.
    const gaps = feed.changes.slice(1).map((c, i) => c.atMs - feed.changes[i]!.atMs);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(DEFAULT_ADAPTATION.stepDownIntervalMs);
    expect(feed.policy.plan).toEqual([
      { level: 'paused', bitrate: 2_500_000, reason: 'uplink' },
      { level: 'paused', bitrate: 1_200_000, reason: 'uplink' },
      { level: 'full', bitrate: 400_000, reason: null },
    ]);
  });

  it('gives a lowered rung the configured share of its bitrate, with its reason', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(1000, healthy);
    const tick = slightlyShort(feed.atMs);
    while (feed.changes.length === 0) feed.run(TICK_MS, tick);
    expect(feed.policy.plan[0]).toEqual({ level: 'lowered', bitrate: 1_500_000, reason: 'uplink' });
  });

  it('takes no further step while the queues drain after one, even above their marks', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(1000, healthy);
    // 480p's queue grows by 30 kB a tick until the top rung is lowered, then shrinks by 5 kB a tick, staying above its
    // 300 ms mark (45 kB) for seconds.
    let queued = 0;
    feed.run(10_000, () => {
      queued += feed.changes.length === 0 ? 30_000 : -5000;
      return { queuedBytes: [0, Math.max(0, queued), 0, 0] };
    });
    expect(feed.changes.map((c) => c.levels)).toEqual([['lowered', 'full', 'full']]);
  });

  it('waits for a lowered bitrate to take effect (the next keyframe) before the next step', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(2000, healthy);
    const tick = slightlyShort(feed.atMs);
    while (feed.changes.length === 0) feed.run(TICK_MS, tick);
    const loweredAt = feed.atMs - TICK_MS;
    // The encoder takes the lowered bitrate 2 s later (a segment boundary); the queues go on growing meanwhile.
    feed.run(4000, (atMs) => ({ ...tick(atMs), bitratePending: atMs < loweredAt + 2000 }));
    expect(feed.changes.slice(0, 2).map((c) => c.levels)).toEqual([['lowered', 'full', 'full'], ['paused', 'full', 'full']]);
    expect(feed.changes[1]!.atMs - (loweredAt + 2000)).toBeGreaterThanOrEqual(DEFAULT_ADAPTATION.stepDownIntervalMs);
  });

  it('takes the steps down to a ladder that fits at once when the uplink carries far less than the ladder', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(2000, healthy);
    // 4 Mbit/s offered and 150 kB a tick piling up: the uplink carried 1.6 Mbit/s over the last second, which only the
    // ladder with 720p paused and 480p lowered (1.25 Mbit/s with audio) fits in: both steps at once, in order.
    feed.run(1000, upperBackUp(feed.atMs));
    expect(feed.changes.map((c) => c.levels)).toEqual([['paused', 'lowered', 'full']]);
    expect(feed.policy.plan.map((p) => p.reason)).toEqual(['uplink', 'uplink', null]);
    expect(feed.policy.achievedKbps).toBe(1600);
  });

  it('takes what the uplink carried from the ingest’s receipts when it sends them', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(2000, () => ({ delivered: 250_000 }));
    expect(feed.policy.achievedKbps).toBe(4000);
    // The queues pile up as before, but the receipts say 1 Mbit/s arrived: only the ladder with both upper rungs
    // paused (528 kbit/s) fits in 90 % of it, where the send-side estimate (1.6 Mbit/s) would have kept 480p lowered.
    feed.run(1000, (atMs) => ({ ...upperBackUp(2000)(atMs), delivered: 62_500 }));
    expect(feed.policy.achievedKbps).toBe(1000);
    expect(feed.changes.map((c) => c.levels)).toEqual([['paused', 'paused', 'full']]);
  });

  it('with receipts, keeps a tenth of what arrived for packet headers and overshoot', () => {
    // 1.9 Mbit/s arrive while 720p's queue grows: 480p + 240p + audio (1.73 Mbit/s) would fit in all of it, not in 90 %.
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(1000, () => ({ delivered: 118_750 }));
    feed.run(1500, (atMs) => ({ ...topBacksUp(1000)(atMs), delivered: 118_750 }));
    expect(feed.policy.achievedKbps).toBe(1900);
    expect(feed.changes.map((c) => c.levels)).toEqual([['paused', 'lowered', 'full']]);
  });

  it('restores one step per restore hold once every queue drained, top rung last', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(1000, healthy);
    feed.run(6000, upperBackUp(feed.atMs));
    const downAt = feed.changes.length;
    expect(feed.levels).toEqual(['paused', 'paused', 'full']);
    const recoveredAt = feed.atMs;
    feed.run(30_000, healthy);
    const ups = feed.changes.slice(downAt);
    expect(ups.map((c) => c.levels)).toEqual([
      ['paused', 'lowered', 'full'],
      ['paused', 'full', 'full'],
      ['lowered', 'full', 'full'],
      ['full', 'full', 'full'],
    ]);
    expect(ups[0]!.atMs - recoveredAt).toBeGreaterThanOrEqual(DEFAULT_ADAPTATION.restoreHoldMs);
    const gaps = ups.slice(1).map((c, i) => c.atMs - ups[i]!.atMs);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(DEFAULT_ADAPTATION.restoreHoldMs);
  });

  it('does not restore while a paused rung still has a backlog to drain', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(1000, healthy);
    feed.run(2500, topBacksUp(feed.atMs));
    expect(feed.levels[0]).toBe('paused');
    const changes = feed.changes.length;
    // The paused top rung's channel holds 200 KB (640 ms of 720p) that drains slowly: no step up meanwhile.
    feed.run(10_000, () => ({ queuedBytes: [200_000, 0, 0, 0] }));
    expect(feed.changes.slice(changes).every((c) => c.levels[0] === 'paused')).toBe(true);
  });

  it('holds its step inside the hysteresis band: a queue between the low and high marks neither sheds nor restores', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(1000, healthy);
    feed.run(3000, topBacksUp(feed.atMs));
    const levels = feed.levels;
    const changes = feed.changes.length;
    // 480p's queue steady at 200 ms of media (30 KB), between queueLowMs and queueHighMs.
    feed.run(20_000, () => ({ queuedBytes: [0, 30_000, 0, 0] }));
    expect(feed.changes.length).toBe(changes);
    expect(feed.levels).toEqual(levels);
  });

  it('doubles the restore hold each time a step up has to be undone, so a marginal link is probed ever more rarely', () => {
    const feed = new Feed(new AdaptivePublishing([2_500_000, 400_000], AUDIO)).run(1000, healthy);
    feed.run(3000, topBacksUp(feed.atMs));
    expect(feed.levels).toEqual(['paused', 'full']);
    const before = feed.changes.length;
    // The link carries 240p and a lowered 720p's worth only while 720p is paused: each step up backs the queue up.
    feed.run(80_000, (atMs) => (feed.levels[0] === 'paused' ? healthy() : topBacksUp(atMs - 500)(atMs)));
    const changes = feed.changes.slice(before);
    // Time from each step down to the next step up: the hold (plus the tick it took to look healthy), doubling to its cap.
    const waits = changes.flatMap((c, i) => (c.levels[0] === 'lowered' && i > 0 ? [c.atMs - changes[i - 1]!.atMs] : []));
    expect(waits.slice(0, 4)).toEqual([8500, 16_500, 16_500, 16_500]);
    expect(changes.filter((c) => c.levels[0] === 'lowered').length).toBeGreaterThanOrEqual(4);
    // Never faster than every few seconds: no two changes closer than the step-down interval.
    const gaps = feed.changes.slice(1).map((c, i) => c.atMs - feed.changes[i]!.atMs);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(DEFAULT_ADAPTATION.stepDownIntervalMs);
  });

  it('steps down for the CPU when the encoders drop frames or fall behind, and says so', () => {
    const dropping = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(1000, healthy);
    // 6 of every 15 captured frames not taken by the encoders: 40 %.
    dropping.run(1500, () => ({ framesOverloaded: 6 }));
    expect(dropping.policy.plan[0]).toMatchObject({ level: 'lowered', reason: 'cpu' });

    const slow = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(1000, healthy);
    slow.run(2000, () => ({ encodeLatencyMs: 400 }));
    expect(slow.levels).toEqual(['paused', 'full', 'full']);
    expect(slow.policy.plan[0]!.reason).toBe('cpu');
    // A few dropped frames (under 5 %) are healthy: it restores.
    slow.run(20_000, () => ({ framesOverloaded: 0, encodeLatencyMs: 30 }));
    expect(slow.levels).toEqual(['full', 'full', 'full']);
  });

  it('steps down when the round-trip time rises with data queued, not on a lone spike', () => {
    const queued = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(2000, healthy);
    queued.run(1000, () => ({ rttMs: 400, queuedBytes: [50_000, 0, 0, 0] }));
    expect(queued.policy.plan[0]).toMatchObject({ level: 'lowered', reason: 'uplink' });

    // The data channels empty but the browser's socket full (as behind tbf): two high readings in a row are enough.
    const socket = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(2000, healthy);
    socket.run(3000, (atMs) => ({ rttMs: atMs < 3500 ? 1400 : 2000 }));
    expect(socket.policy.plan[0]).toMatchObject({ level: 'lowered', reason: 'uplink' });

    const spike = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(2000, healthy);
    spike.run(3000, () => ({ rttMs: 400 }));
    expect(spike.changes).toEqual([]);
  });

  it('takes no step for a one-sample burst on a channel', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO)).run(2000, healthy);
    // 20 kB on the audio channel is 1.25 s of 128 kbit/s audio, for one measurement.
    feed.run(3000, (atMs) => (atMs === 3000 ? { queuedBytes: [0, 0, 0, 20_000] } : healthy()));
    expect(feed.changes).toEqual([]);
  });

  it('never steps a one-rung ladder, nor any ladder when disabled', () => {
    const single = new Feed(new AdaptivePublishing([2_500_000], AUDIO)).run(1000, healthy);
    single.run(10_000, (atMs) => ({ queuedBytes: [atMs * 1000, 0], framesOverloaded: 15 }));
    expect(single.changes).toEqual([]);
    expect(single.levels).toEqual(['full']);

    const off = new Feed(new AdaptivePublishing(BITRATES, AUDIO, { ...DEFAULT_ADAPTATION, enabled: false })).run(1000, healthy);
    off.run(10_000, topBacksUp(1000));
    expect(off.changes).toEqual([]);
  });

  it('reports what the uplink carried: what was sent minus what piled up', () => {
    const feed = new Feed(new AdaptivePublishing(BITRATES, AUDIO));
    // 250 KB offered and 100 KB more queued per 500 ms tick: 150 KB per 500 ms left, 2400 kbit/s.
    feed.run(3000, topBacksUp(0));
    expect(feed.policy.achievedKbps).toBe(2400);
  });
});
