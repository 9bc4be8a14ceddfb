// A stock Firefox (no test-only ICE prefs) as broadcaster, in a network namespace of the test's own: it goes live to a
// server whose ICE is on a veth address, and against a loopback-only server the page says why it fails and what to do.
import { beforeAll, describe, expect, it } from 'vitest';
import { VETH, VETH_ADDRESS, VETH_PEER, type NetnsResult, type NetnsScenario } from './support/firefox-netns.ts';
import { requireNetworkTools, runInNetworkNamespace } from './support/netns-runner.ts';

const DRIVER_TIMEOUT_MS = 100_000;

function runInNamespace(scenario: NetnsScenario): Promise<NetnsResult> {
  return runInNetworkNamespace<NetnsResult>({ driver: 'e2e/support/firefox-netns-driver.ts', args: [scenario], name: scenario, timeoutMs: DRIVER_TIMEOUT_MS });
}

/** Every interface and route is the namespace's own: lo and the veth pair whose both ends are inside it. */
function expectSealed(result: NetnsResult): void {
  expect(result.linksBefore).toEqual(['lo']);
  expect([...result.linksAfter].sort()).toEqual(['lo', VETH, VETH_PEER].sort());
  for (const route of result.routes) expect(route).toMatch(/ dev (lo|sc-veth0|sc-veth1)\b/);
  expect(result.routes).toContain('default dev sc-veth0 scope link ');
}

beforeAll(() => requireNetworkTools(['unshare', 'ip']));

describe('stock Firefox broadcaster in a network namespace', () => {
  it('goes live to a server whose ICE is on the veth address 10.77.0.1, segments reach the playlist', async () => {
    const result = await runInNamespace('veth');
    expectSealed(result);
    expect(result.error).toBeNull();
    expect(result.state, result.serverLog.join('\n')).toBe('live');
    expect(result.connectionState).toBe('connected');
    expect(result.bytesSent).toBeGreaterThan(0);
    expect(result.segments).toBeGreaterThan(0);
    expect(result.segmentBytes).toBeGreaterThan(0);
    expect(result.remote).toMatchObject({ address: VETH_ADDRESS, candidateType: 'host' });
    // Stock Firefox names its host candidate with an mDNS name rather than the address: proof no test pref is on.
    expect(result.local?.address).toMatch(/\.local$/);
  }, DRIVER_TIMEOUT_MS + 10_000);

  it('against a server whose ICE is on 127.0.0.1, fails within bounded time and tells the user what to do', async () => {
    const result = await runInNamespace('loopback');
    expectSealed(result);
    expect(result.state, result.serverLog.join('\n')).toBe('error');
    expect(result.errorCode).toBe('connection-failed');
    expect(result.notice).toBe(result.error);
    expect(result.notice).toMatch(/Firefox does not make WebRTC connections to a server on this same machine's loopback address/);
    expect(result.notice).toContain('ICE_BIND_ADDRESS');
    expect(result.notice).toContain('media.peerconnection.ice.loopback');
    expect(result.bytesSent).toBe(0);
    // ICE gathering (at most 5 s) plus the data channel's open timeout (10 s) bound it, page load aside.
    expect(result.settledMs).toBeLessThan(20_000);
  }, DRIVER_TIMEOUT_MS + 10_000);
});
