// A Chromium viewer of a live stream behind an emulated access link with 30 ms of jitter and 1 % packet loss, in a
// network namespace of the test's own (e2e/support/conditions-netns-driver.ts): it plays, its latency and stalls are
// reported, and the conditions were really applied (the proxy's holds, nft's drops, TCP's retransmissions).
import { describe, expect, it } from 'vitest';
import { quantile } from './support/abr-trace.ts';
import { CONDITIONS, type ConditionsResult, type ConditionsRun } from './support/netem.ts';
import { requireNetworkTools, runInNetworkNamespace } from './support/netns-runner.ts';

const SECONDS = 15;
const CONDITION = CONDITIONS.find((c) => c.name === 'jitter-30+loss-1')!;

describe('a viewer behind an emulated network (delay proxy + nft loss, in a namespace)', () => {
  it('plays through 30 ms of jitter and 1 % loss, the jitter and the loss really applied', async () => {
    requireNetworkTools(['unshare', 'ip', 'nft']);
    const run: ConditionsRun = { paths: ['direct'], conditions: [CONDITION], seconds: SECONDS, targetMs: null };
    const result = await runInNetworkNamespace<ConditionsResult>({
      driver: 'e2e/support/conditions-netns-driver.ts',
      args: [JSON.stringify(run)],
      name: 'network conditions',
      timeoutMs: 90_000,
    });
    const row = result.rows[0]!;
    console.log(
      `[network-conditions] ${CONDITION.name}: glass-to-glass p50 ${quantile(row.latenciesMs, 0.5)} ms, p95 ${quantile(row.latenciesMs, 0.95)} ms, ` +
        `${row.stalls} stalls, first frame ${row.timeToFirstFrameMs} ms, target ${row.targetLatencyMs} ms, ` +
        `${(row.requests.total / row.measuredSeconds).toFixed(1)} requests/s; held down mean ${row.heldDownMs.mean.toFixed(1)} ms, ` +
        `dropped ${row.droppedToProxy} of ${row.packetsToProxy} packets up / ${row.droppedFromProxy} of ${row.packetsFromProxy} down, ${row.tcpRetransSegs} of ${row.tcpOutSegs} segments retransmitted`,
    );
    expect(result.loopback).toMatch(/mtu 1500 .*gso_max_segs 1 /);

    // It plays: a first frame, a playing viewer at the end, media advancing at 0.8× real time or better, latency read all along.
    expect(row.error).toBeNull();
    expect(row.timeToFirstFrameMs).not.toBeNull();
    expect(row.state).toBe('playing');
    expect(row.playedSeconds).toBeGreaterThanOrEqual(0.8 * row.measuredSeconds);
    expect(row.latenciesMs.length).toBeGreaterThan(SECONDS * 2);
    expect(row.requests.media).toBeGreaterThan(SECONDS);
    expect(row.requests.playlists).toBeGreaterThan(0);

    // The jitter: each chunk held a uniform 0–30 ms, order kept (which can only push a chunk later): the mean hold lies
    // around 15 ms, some chunks pass at once and some wait most of the 30 ms.
    for (const held of [row.heldDownMs, row.heldUpMs]) {
      expect(held.chunks).toBeGreaterThan(50);
      expect(held.mean).toBeGreaterThan(CONDITION.jitterMs / 3);
      expect(held.mean).toBeLessThan(CONDITION.jitterMs);
      expect(held.min).toBeLessThan(CONDITION.jitterMs / 3);
      expect(held.max).toBeGreaterThan((2 * CONDITION.jitterMs) / 3);
    }
    // The loss: nft dropped the viewer's packets both ways, about 1 % of them (thousands of packets: 0.25–3 % is more
    // than four standard deviations either side), and TCP retransmitted them.
    expect(row.droppedToProxy).toBeGreaterThan(0);
    expect(row.droppedFromProxy).toBeGreaterThan(0);
    const lossRatio = (row.droppedToProxy + row.droppedFromProxy) / (row.packetsToProxy + row.packetsFromProxy);
    expect(lossRatio).toBeGreaterThan(0.0025);
    expect(lossRatio).toBeLessThan(0.03);
    expect(row.tcpRetransSegs).toBeGreaterThan(0);
  }, 120_000);
});
