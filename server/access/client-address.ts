// The viewer's address: the socket's peer, or, when that peer is a trusted proxy (TRUSTED_PROXIES), the address the
// proxies recorded in X-Forwarded-For. A header from anyone else is ignored, or any client could pick its country.
import type { IncomingMessage } from 'node:http';
import { isIP, type BlockList } from 'node:net';
import { listHas } from './playback-token.ts';

/** `::ffff:203.0.113.7` (an IPv4 peer of a dual-stack socket) as `203.0.113.7`, so IPv4 rules and tokens match it. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/**
 * The client's address. X-Forwarded-For is read right to left (each proxy appends the peer it saw), skipping the
 * trusted proxies, and the first address not among them is the client; a malformed entry stops the walk there.
 */
export function clientAddressOf(req: IncomingMessage, trustedProxies: BlockList | undefined): string {
  let address = normalizeAddress(req.socket.remoteAddress ?? '');
  if (!trustedProxies || !listHas(trustedProxies, address)) return address;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((hop) => normalizeAddress(hop.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) break;
    address = hop;
    if (!listHas(trustedProxies, hop)) break;
  }
  return address;
}
