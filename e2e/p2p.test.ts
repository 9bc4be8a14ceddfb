// Peer-assisted delivery in a network namespace of the test's own: a Node publisher, Chromium and Firefox viewers in `p2p`
// mode on the watch page meet through the server's tracker, share segments over WebRTC on the namespace's veth address,
// a late viewer gets segments from peers, and a peer that corrupts what it uploads is caught while playback goes on.
import { beforeAll, describe, expect, it } from 'vitest';
import { P2P_VETH, P2P_VETH_ADDRESS, P2P_VETH_PEER, type P2pE2eResult, type ViewerReport } from './support/p2p-netns.ts';
import { requireNetworkTools, runInNetworkNamespace } from './support/netns-runner.ts';

const DRIVER_TIMEOUT_MS = 300_000;
const VETH_SUBNET = P2P_VETH_ADDRESS.split('.').slice(0, 3).join('.');

/** Every address a peer connection used is the namespace's veth address (host candidates, nothing else). */
function expectNamespacePairs(viewer: ViewerReport): void {
  expect(viewer.pairs.length, `${viewer.name} has no peer connection that carried data`).toBeGreaterThan(0);
  for (const pair of viewer.pairs) {
    expect(pair.local?.startsWith(`${VETH_SUBNET}.`), `${viewer.name} local ${pair.local}`).toBe(true);
    expect(pair.remote?.startsWith(`${VETH_SUBNET}.`), `${viewer.name} remote ${pair.remote}`).toBe(true);
  }
}

let result: P2pE2eResult;

beforeAll(async () => {
  requireNetworkTools(['unshare', 'ip']);
  result = await runInNetworkNamespace<P2pE2eResult>({ driver: 'e2e/support/p2p-netns-driver.ts', args: ['e2e'], name: 'p2p', timeoutMs: DRIVER_TIMEOUT_MS });
}, DRIVER_TIMEOUT_MS + 10_000);

describe('p2p mode in a network namespace', () => {
  it('runs sealed: only lo and a veth pair whose both ends are inside', () => {
    expect(result.linksBefore).toEqual(['lo']);
    expect([...result.linksAfter].sort()).toEqual(['lo', P2P_VETH, P2P_VETH_PEER].sort());
    for (const route of result.routes) expect(route).toMatch(new RegExp(` dev (lo|${P2P_VETH}|${P2P_VETH_PEER})\\b`));
  });

  it('four Chromium and Firefox viewers meet through the tracker and most get segments from peers, without stalls', () => {
    const { shared } = result;
    expect(shared.map((v) => v.browser).sort()).toEqual(['chromium', 'chromium', 'firefox', 'firefox']);
    expect(shared.filter((v) => v.final.bytesP2p > 0).length).toBeGreaterThanOrEqual(3);
    for (const viewer of shared) {
      expect(viewer.final.state, viewer.name).toBe('playing');
      expect(viewer.final.stalls, viewer.name).toBe(0);
      expect(viewer.final.peers, viewer.name).toBeGreaterThan(0);
      // The watch page's overlay says it, over the video.
      expect(viewer.final.overlay, viewer.name).toMatch(/^P2P \d+ % of [\d.]+ MB.* · \d+ peers?$/);
    }
    // Both browsers took part in the exchange.
    expect(shared.some((v) => v.browser === 'firefox' && v.final.bytesP2p > 0)).toBe(true);
    expect(shared.some((v) => v.browser === 'chromium' && v.final.bytesP2p > 0)).toBe(true);
    expect(result.tracker.relayed).toBeGreaterThan(0);
  });

  it('peer connections use the namespace veth address only', () => {
    for (const viewer of result.shared.filter((v) => v.final.bytesP2p > 0)) expectNamespacePairs(viewer);
    expectNamespacePairs(result.late);
  });

  it('a viewer joining while the others play gets segments from peers', () => {
    expect(result.late.final.state).toBe('playing');
    expect(result.late.final.bytesP2p).toBeGreaterThan(0);
    expect(result.late.final.stalls).toBe(0);
  });

  it('a peer corrupting its uploads is caught by the digests and dropped; playback goes on over HTTP', () => {
    const honest = result.afterBadPeer;
    expect(honest.map((v) => v.name)).not.toContain(result.badPeer);
    const victims = honest.filter((v) => v.final.rejectedP2pSegments > 0);
    expect(victims.length).toBeGreaterThan(0);
    // p2p-media-loader closes the connection to a peer whose segment failed validation.
    for (const victim of victims) expect(victim.closedConnections, victim.name).toBeGreaterThan(0);
    for (const viewer of honest) {
      expect(viewer.final.state, viewer.name).toBe('playing');
      expect(viewer.final.currentTime, viewer.name).toBeGreaterThan((result.currentTimeAtBadPeer[viewer.name] ?? Infinity) + 10);
    }
  });
});
