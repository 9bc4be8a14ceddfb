// The three network namespaces of the e2e suites that put a Chromium broadcaster behind a router (uplink adaptation,
// reconnect): A (the driver's: server and viewer) – R (router) – B (broadcaster), made and joined here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser.ts';
import {
  BROADCASTER_ADDRESS,
  BROADCASTER_VETH,
  ROUTER_BROADCASTER_SIDE,
  ROUTER_BROADCASTER_VETH,
  ROUTER_SERVER_SIDE,
  ROUTER_SERVER_VETH,
  SERVER_ADDRESS,
  SERVER_VETH,
} from './uplink-netns.ts';

export const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
/** Runs a command in the network namespace `pid` is in. */
export const inNs = (pid: number, ...command: string[]): string => execFileSync('nsenter', ['-t', String(pid), '-n', '--', ...command], { encoding: 'utf8' });
export const linkNames = (): string[] =>
  ip('-o', 'link', 'show')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(': ')[1]!.split('@')[0]!);

/** A new namespace, held by a process of its own (gone by itself after a while, so nothing outlives a crashed driver long). */
export async function holdNamespace(): Promise<ChildProcess> {
  const holder = spawn('unshare', ['-n', '--', 'sleep', '300'], { stdio: 'ignore' });
  const own = readlinkSync('/proc/self/ns/net');
  const deadline = Date.now() + 5000;
  for (;;) {
    let ns: string | undefined;
    try {
      ns = readlinkSync(`/proc/${holder.pid}/ns/net`);
    } catch {
      ns = undefined;
    }
    if (ns && ns !== own) return holder;
    if (Date.now() > deadline) throw new Error('namespace B did not come up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A (server, 10.78.1.1) – R (router) – B (broadcaster, 10.78.0.2). A's only route off-link leads to B's subnet through
 * R, B's default route leads to R, R forwards between the two only; none of them has any other link, so nothing
 * leaves the three namespaces, and nothing here touches the host's links.
 */
export function link(rPid: number, bPid: number): void {
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', SERVER_VETH, 'type', 'veth', 'peer', 'name', ROUTER_SERVER_VETH);
  ip('link', 'set', ROUTER_SERVER_VETH, 'netns', String(rPid));
  ip('link', 'add', ROUTER_BROADCASTER_VETH, 'type', 'veth', 'peer', 'name', BROADCASTER_VETH);
  ip('link', 'set', ROUTER_BROADCASTER_VETH, 'netns', String(rPid));
  ip('link', 'set', BROADCASTER_VETH, 'netns', String(bPid));
  ip('addr', 'add', `${SERVER_ADDRESS}/24`, 'dev', SERVER_VETH);
  ip('link', 'set', SERVER_VETH, 'up');
  ip('route', 'add', `${BROADCASTER_ADDRESS}/32`, 'via', ROUTER_SERVER_SIDE, 'dev', SERVER_VETH);
  inNs(rPid, 'ip', 'link', 'set', 'lo', 'up');
  inNs(rPid, 'ip', 'addr', 'add', `${ROUTER_SERVER_SIDE}/24`, 'dev', ROUTER_SERVER_VETH);
  inNs(rPid, 'ip', 'addr', 'add', `${ROUTER_BROADCASTER_SIDE}/24`, 'dev', ROUTER_BROADCASTER_VETH);
  inNs(rPid, 'ip', 'link', 'set', ROUTER_SERVER_VETH, 'up');
  inNs(rPid, 'ip', 'link', 'set', ROUTER_BROADCASTER_VETH, 'up');
  // Forwarding is a setting of R's namespace alone.
  inNs(rPid, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  inNs(bPid, 'ip', 'link', 'set', 'lo', 'up');
  inNs(bPid, 'ip', 'addr', 'add', `${BROADCASTER_ADDRESS}/24`, 'dev', BROADCASTER_VETH);
  inNs(bPid, 'ip', 'link', 'set', BROADCASTER_VETH, 'up');
  inNs(bPid, 'ip', 'route', 'add', 'default', 'via', ROUTER_BROADCASTER_SIDE, 'dev', BROADCASTER_VETH);
}

/** Chromium as Playwright starts it, but in namespace B: a wrapper that enters B's network namespace and execs it. */
export function launchInB(bPid: number, dir: string, origin: string): Promise<Browser> {
  const wrapper = join(dir, 'chromium-in-b.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec nsenter -t ${bPid} -n -- ${CHROMIUM_PATH} "$@"\n`, { mode: 0o755 });
  return chromium.launch({
    executablePath: wrapper,
    headless: true,
    // http://10.78.0.1 is not a secure context, and WebCodecs needs one. Host candidates carry the address, not mDNS.
    args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${origin}`, '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
}
