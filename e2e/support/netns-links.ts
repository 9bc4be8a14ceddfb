// Inside a network namespace a driver runs in (`unshare -n`): its links, and the sealed veth setup the browser suites use.
import { execFileSync } from 'node:child_process';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

export const linkNames = (): string[] =>
  ip('-o', 'link', 'show')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(': ')[1]!.split('@')[0]!);

/**
 * The namespace's whole network: lo, plus a veth pair whose both ends live here, with `address` and the default route
 * on one end. Browsers gather host candidates only on non-loopback interfaces that are up and routed, so they need the
 * veth; packets to `address` are local and go over lo, and the default route leads only to the peer end, which is in
 * this namespace too: no interface reaches the host's network.
 */
export function setUpSealedVeth(veth: string, peer: string, address: string): void {
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', peer);
  ip('addr', 'add', `${address}/24`, 'dev', veth);
  ip('link', 'set', veth, 'up');
  ip('link', 'set', peer, 'up');
  ip('route', 'add', 'default', 'dev', veth);
}

/** Page script run before the page's own: keeps every RTCPeerConnection it makes in `window.__swarmcastPeerConnections`, for their getStats(). */
export const RECORD_PEER_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  const all = [];
  window.__swarmcastPeerConnections = all;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); all.push(this); }
  };
})()`;
