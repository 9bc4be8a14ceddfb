// A Chromium broadcaster whose uplink is rate-limited (tbf on a veth pair, in network namespaces the test makes) steps
// its upper rungs down (the top one lowered then paused, or paused at once) while a viewer plays on, and brings them
// back one step at a time once the limit is lifted.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BROADCASTER_VETH,
  NAMESPACE_LINE,
  ROUTER_BROADCASTER_VETH,
  ROUTER_SERVER_VETH,
  SERVER_VETH,
  type UplinkResult,
  type UplinkSample,
} from './support/uplink-netns.ts';
import { requireNetworkTools, runInNetworkNamespace } from './support/netns-runner.ts';

const DRIVER_TIMEOUT_MS = 150_000;

/** The driver runs in namespace A and names the holders of the router's R and the broadcaster's B (see netns-runner). */
function runDriver(): Promise<UplinkResult> {
  return runInNetworkNamespace<UplinkResult>({ driver: 'e2e/support/uplink-netns-driver.ts', name: 'uplink', timeoutMs: DRIVER_TIMEOUT_MS, namespaceLine: NAMESPACE_LINE });
}

const levels = (s: UplinkSample): string[] => s.rungs.map((r) => r.level);

/** One line per sample: what the report and a failure need to be read. */
function trace(result: UplinkResult): string {
  const rows = result.samples.map((s) => {
    const rungs = s.rungs.map((r) => `${r.rendition} ${r.level}${r.levelReason ? `/${r.levelReason}` : ''} ${r.bitrateKbps}/${r.sendKbps}`).join(' | ');
    const v = s.viewer;
    return `${String(s.atMs).padStart(6)} ${s.throttled ? 'tbf' : '   '} ${rungs} (page: ${s.topRowState}) | up ${s.uplinkKbps} rtt ${s.uplinkRttMs} q ${s.bufferedBytes} fl ${s.inFlightBytes} (${Object.values(s.channelBufferedBytes).join('/')}) | viewer ${v.state} ${v.rendition ?? '-'} ${v.decodedFrames} t=${v.currentTime.toFixed(1)} buffer ${v.bufferMs} stalls ${v.stalls}`;
  });
  const gaps = result.lowestPartAtMs.slice(1).map((t, i) => ({ from: result.lowestPartAtMs[i]!, gap: t - result.lowestPartAtMs[i]! }));
  const throttledGap = Math.max(0, ...gaps.filter((g) => g.from >= 0 && g.from < result.liftedAtMs).map((g) => g.gap));
  const maxQueue = Math.max(...result.samples.filter((s) => s.throttled).map((s) => s.bufferedBytes));
  const stalls = result.samples.filter((s) => s.throttled).map((s) => s.viewer.stalls);
  const inFlight = result.samples.filter((s) => s.throttled).map((s) => s.inFlightBytes ?? 0);
  const longGaps = gaps.filter((g) => g.from >= 0 && g.gap > 400).map((g) => `${g.from}+${g.gap}`);
  const summary = `parts at the origin more than 400 ms apart after throttling (at+gap ms): ${longGaps.join(' ') || 'none'}\nthrottled: longest gap between new lowest-rung parts at the origin ${throttledGap} ms, viewer stalls ${stalls.at(-1)! - stalls[0]!}, largest queue ${maxQueue} B, largest in flight ${Math.max(...inFlight)} B`;
  const times = `${summary}\nlowered ${result.loweredAfterMs} ms, paused ${result.pausedAfterMs} ms after throttling; lifted at ${result.liftedAtMs} ms, top rung back ${result.resumedAfterLiftMs} ms and full ${result.fullAfterLiftMs} ms after`;
  return [times, ...rows].join('\n');
}

beforeAll(() => requireNetworkTools(['unshare', 'nsenter', 'ip', 'tc']));

describe('adaptive publishing behind a throttled uplink', () => {
  it('pauses the top rung within seconds under a 2 Mbit/s tbf, the viewer plays on, and the rung comes back when lifted', async () => {
    const result = await runDriver();
    console.log(trace(result));
    const log = result.serverLog.join('\n');
    // Sealed: A had only lo; every route of A, R and B is on lo or the two veth pairs between them.
    expect(result.linksBefore).toEqual(['lo']);
    for (const route of result.routesA) expect(route).toMatch(new RegExp(` dev (lo|${SERVER_VETH})\\b`));
    for (const route of result.routesR) expect(route).toMatch(new RegExp(` dev (lo|${ROUTER_SERVER_VETH}|${ROUTER_BROADCASTER_VETH})\\b`));
    for (const route of result.routesB) expect(route).toMatch(new RegExp(` dev (lo|${BROADCASTER_VETH})\\b`));
    expect(result.qdisc).toMatch(/^qdisc tbf .* rate 2Mbit /);

    const { samples } = result;
    const throttled = samples.filter((s) => s.throttled);
    const after = samples.filter((s) => s.atMs >= result.liftedAtMs);
    // The broadcast never broke.
    expect(samples.every((s) => s.broadcasterState === 'live'), log).toBe(true);

    // Down, within seconds: the top rung is lowered and then paused, or, when what the uplink carries is far below even
    // the ladder with it lowered (2 Mbit/s against 3.2), paused at once; for the uplink either way.
    const firstDown = throttled.find((s) => s.rungs[0]!.level !== 'full');
    expect(['lowered', 'paused']).toContain(firstDown?.rungs[0]?.level);
    expect(firstDown?.rungs[0]?.levelReason).toBe('uplink');
    if (firstDown?.rungs[0]?.level === 'lowered') expect(firstDown.rungs[0].bitrateKbps).toBe(1500);
    expect(result.pausedAfterMs).not.toBeNull();
    expect(result.pausedAfterMs!).toBeLessThan(10_000);
    expect(throttled.find((s) => s.rungs[0]!.level === 'paused')?.rungs[0]?.levelReason).toBe('uplink');
    // The page says so in the broadcaster's words.
    expect(throttled.map((s) => s.topRowState)).toContain('paused: upload too slow');
    expect(samples[0]!.topRowState).toBe('encoding');

    // A rung paused for the uplink drops what it had queued (client/broadcaster/send-queue.ts): from 1 s after its pause
    // its channel holds at most the send queue's 64 KiB mark, a 16 KiB frame and the rest of one chunk already begun,
    // where it used to keep its whole backlog (0.3-0.7 MB), sent on although too late to be played.
    for (const [k, rung] of samples[0]!.rungs.entries()) {
      const pausedAt = throttled.find((s) => s.rungs[k]!.level === 'paused')?.atMs;
      if (pausedAt === undefined) continue;
      for (const s of throttled.filter((t) => t.atMs >= pausedAt + 1000 && t.rungs[k]!.level === 'paused')) {
        expect(s.channelBufferedBytes[rung.rendition], `${rung.rendition} queue at ${s.atMs} ms`).toBeLessThan(192 * 1024);
      }
    }

    // The lowest rung and audio were never held back.
    expect(samples.every((s) => s.rungs.at(-1)!.level === 'full')).toBe(true);
    const audio = samples.map((s) => s.audioChunksSent);
    expect(audio.every((n, i) => i === 0 || n >= audio[i - 1]!)).toBe(true);
    expect(audio.at(-1)!).toBeGreaterThan(audio[0]! + 500);

    // What the ingest receives never stops: the broadcaster paces on the ingest's receipts (client/broadcaster/send-pacer.ts),
    // audio and the lowest rung first, so the narrowed uplink is never flooded into drops and retransmission back-off
    // (which used to hold every channel, audio included, for 1-4 s). New parts of the lowest rung (its video and the
    // audio muxed into it) reach the origin at least every second while throttled.
    const partsThrottled = result.lowestPartAtMs.filter((t) => t >= 0 && t <= result.liftedAtMs);
    expect(partsThrottled.length).toBeGreaterThan(result.liftedAtMs / 1000);
    for (const [i, t] of partsThrottled.entries()) {
      const previous = i === 0 ? result.lowestPartAtMs[result.lowestPartAtMs.indexOf(t) - 1]! : partsThrottled[i - 1]!;
      expect(t - previous, `no new part of the lowest rung from ${previous} ms`).toBeLessThanOrEqual(1000);
    }

    // The viewer played throughout: never an error, its decoded frames growing over every 3 s. (Not tighter: a viewer
    // on the top rung when it pauses waits on the player to switch away from the rung's GAP parts, up to ~2.5 s.)
    expect(samples.filter((s) => s.viewer.state === 'error')).toEqual([]);
    const playing = samples.filter((s) => s.atMs >= 0);
    for (const s of playing) {
      const later = playing.find((t) => t.atMs >= s.atMs + 3000);
      if (later) expect(later.viewer.decodedFrames, `frozen from ${s.atMs} ms`).toBeGreaterThan(s.viewer.decodedFrames);
    }

    // Up: once lifted, the top rung comes back, one step at a time, to its full bitrate, and sends again.
    expect(result.resumedAfterLiftMs).not.toBeNull();
    expect(result.fullAfterLiftMs).not.toBeNull();
    expect(result.fullAfterLiftMs!).toBeGreaterThanOrEqual(result.resumedAfterLiftMs!);
    const upSteps = after.map((s) => levels(s).join()).filter((l, i, all) => i === 0 || l !== all[i - 1]);
    expect(upSteps.at(-1)).toBe('full,full,full');
    expect(after.at(-1)!.rungs[0]!.sendKbps).toBeGreaterThan(0);
  }, DRIVER_TIMEOUT_MS + 10_000);
});
