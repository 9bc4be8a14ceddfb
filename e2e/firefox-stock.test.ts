// A stock Firefox (no test-only ICE prefs) as broadcaster, in a network namespace of the test's own: it goes live to a
// server whose ICE is on a veth address, and against a loopback-only server the page says why it fails and what to do.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { VETH, VETH_ADDRESS, VETH_PEER, type NetnsResult, type NetnsScenario } from './support/firefox-netns.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DRIVER = 'e2e/support/firefox-netns-driver.ts';
const DRIVER_TIMEOUT_MS = 100_000;
// `ip` lives in /usr/sbin, which a non-login PATH may lack.
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;

/**
 * Runs the driver under `unshare -n`: a fresh network namespace with only lo, gone when the driver (its only member)
 * exits, so there is nothing to clean up and no link of the host's is ever touched. At the deadline every process in
 * that namespace is killed, so a stuck browser fails the test instead of hanging it.
 */
function runInNamespace(scenario: NetnsScenario): Promise<NetnsResult> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn('unshare', ['-n', '--', process.execPath, '--import', 'tsx', DRIVER, scenario], {
      cwd: ROOT,
      env: { ...process.env, PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
    const timer = setTimeout(() => {
      killNamespace(child.pid!);
      rejectRun(new Error(`the ${scenario} driver did not finish within ${DRIVER_TIMEOUT_MS} ms\n${err}`));
    }, DRIVER_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      rejectRun(new Error(`could not run unshare: ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolveRun(JSON.parse(line.slice('RESULT '.length)) as NetnsResult);
      else rejectRun(new Error(`the ${scenario} driver exited with ${code}:\n${err}${out}`));
    });
  });
}

/**
 * Kills the driver and every process in its namespace by id. Puppeteer starts Firefox in a process group of its own, so
 * the driver's group does not hold it; the namespace does, and only this test's processes are in it.
 */
function killNamespace(driverPid: number): void {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${driverPid}/ns/net`);
  } catch {
    return;
  }
  // Not yet in its own namespace: then it is the only process to end, never the host namespace's others.
  if (ns === readlinkSync('/proc/self/ns/net')) {
    process.kill(driverPid, 'SIGKILL');
    return;
  }
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === ns) process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already, or not ours to read.
    }
  }
}

/** Every interface and route is the namespace's own: lo and the veth pair whose both ends are inside it. */
function expectSealed(result: NetnsResult): void {
  expect(result.linksBefore).toEqual(['lo']);
  expect([...result.linksAfter].sort()).toEqual(['lo', VETH, VETH_PEER].sort());
  for (const route of result.routes) expect(route).toMatch(/ dev (lo|sc-veth0|sc-veth1)\b/);
  expect(result.routes).toContain('default dev sc-veth0 scope link ');
}

beforeAll(() => {
  for (const tool of ['unshare', 'ip']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { env: { ...process.env, PATH } }).status === 0;
    if (!found) throw new Error(`${tool} is missing (util-linux gives unshare, iproute2 gives ip): run scripts/ensure-system-deps.sh as root`);
  }
});

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
