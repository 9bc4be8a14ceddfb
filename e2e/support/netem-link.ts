// Inside a driver's own network namespace (`unshare -n`): an emulated access link in front of a server — the delay proxy
// for delay and jitter, nft for packet loss and tc (htb + u32 + tbf) for a rate cap, all on the proxy's port only.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startDelayProxy, type DelayProxy } from './delay-proxy.ts';
import type { NetworkCondition } from './netem.ts';

const NFT_TABLE = 'swarmcast_netem';

const run = (command: string, args: string[], input?: string): string => execFileSync(command, args, { encoding: 'utf8', input });

/**
 * lo as a real link would carry TCP: 1500-byte MTU and one segment per packet (no 64 KB offload super-packets), so 1 %
 * loss drops 1 % of 1500-byte packets rather than whole 64 KB bursts, and a rate cap meters packets, not bursts.
 * Only sockets opened afterwards take it: call first.
 */
export function shapeLoopback(): string {
  run('ip', ['link', 'set', 'lo', 'up']);
  run('ip', ['link', 'set', 'lo', 'mtu', '1500', 'gso_max_segs', '1', 'gso_max_size', '1500']);
  return run('ip', ['-d', 'link', 'show', 'lo']).replace(/\s+/g, ' ').trim();
}

/** The namespace's TCP totals (segments sent and retransmitted), from /proc/net/snmp. */
export function tcpCounters(): { outSegs: number; retransSegs: number } {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/).map(Number);
  const value = (name: string): number => values[names.indexOf(name)]!;
  return { outSegs: value('OutSegs'), retransSegs: value('RetransSegs') };
}

export interface EmulatedLink {
  /** The proxy: the viewer's URLs start with its baseUrl. */
  readonly proxy: DelayProxy;
  /** Packets nft saw and dropped so far on the viewer's connections (all zero without loss). */
  packets(): PacketCounts;
  /** Bytes the rate cap has sent towards the viewer so far (0 without a cap). */
  cappedBytesDown(): number;
  /** Removes the rules and the cap and closes the proxy; idempotent. */
  close(): Promise<void>;
}

function addLoss(port: number, percent: number): void {
  // numgen draws per packet: below `percent` hundredths of 10000 the packet is dropped, as a lossy link would.
  const threshold = Math.round(percent * 100);
  run('nft', ['-f', '-'], [
    `table inet ${NFT_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority 0; policy accept;',
    `    tcp dport ${port} counter comment "to-proxy-seen"`,
    `    tcp sport ${port} counter comment "from-proxy-seen"`,
    `    tcp dport ${port} numgen random mod 10000 < ${threshold} counter drop comment "to-proxy"`,
    `    tcp sport ${port} numgen random mod 10000 < ${threshold} counter drop comment "from-proxy"`,
    '  }',
    '}',
  ].join('\n'));
}

interface PacketCounts {
  /** Packets to the proxy (requests, ACKs) and from it (responses) that reached the loss rules, and those dropped. */
  toProxy: number;
  fromProxy: number;
  droppedToProxy: number;
  droppedFromProxy: number;
}

function packetCounts(): PacketCounts {
  const ruleset = JSON.parse(run('nft', ['-j', 'list', 'table', 'inet', NFT_TABLE])) as { nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[] };
  const count = (comment: string): number =>
    ruleset.nftables.flatMap((item) => (item.rule?.comment === comment ? item.rule.expr : [])).reduce((sum, expr) => sum + (expr.counter?.packets ?? 0), 0);
  return { toProxy: count('to-proxy-seen'), fromProxy: count('from-proxy-seen'), droppedToProxy: count('to-proxy'), droppedFromProxy: count('from-proxy') };
}

/**
 * A cap of `mbps` each way on the proxy's port: htb sorts lo's packets (u32 on the port; everything else goes to an
 * unshaped class) and a tbf under each shaped class meters them, with 300 ms of queue as an access link's buffer.
 */
function addRateCap(port: number, mbps: number): void {
  const tc = (...args: string[]): string => run('tc', args);
  tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '1', 'r2q', '100000');
  tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '40gbit');
  for (const [classid, direction] of [
    ['1:2', 'sport'],
    ['1:3', 'dport'],
  ] as const) {
    tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', classid, 'htb', 'rate', '40gbit');
    tc('qdisc', 'add', 'dev', 'lo', 'parent', classid, 'tbf', 'rate', `${mbps}mbit`, 'burst', '15kb', 'latency', '300ms');
    tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', direction, String(port), '0xffff', 'flowid', classid);
  }
}

function cappedBytes(): number {
  // tc has no JSON for htb classes here: its text reads ` Sent 784328 bytes 520 pkt (dropped 52, …)`.
  return Number(/Sent (\d+) bytes/.exec(run('tc', ['-s', 'class', 'show', 'dev', 'lo', 'classid', '1:2']))?.[1] ?? 0);
}

/** Starts a proxy to `targetUrl` behind `condition`; one link at a time per namespace (one nft table, lo's root qdisc). */
export async function emulateLink(targetUrl: string, condition: NetworkCondition): Promise<EmulatedLink> {
  const path = { delayMs: condition.delayMs, jitterMs: condition.jitterMs };
  const proxy = await startDelayProxy(targetUrl, { upstream: path, downstream: path });
  const lossy = condition.lossPercent > 0;
  const capped = condition.rateMbps !== null;
  try {
    if (lossy) addLoss(proxy.port, condition.lossPercent);
    if (capped) addRateCap(proxy.port, condition.rateMbps!);
  } catch (err) {
    await proxy.close();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    proxy,
    packets: () => (lossy ? packetCounts() : { toProxy: 0, fromProxy: 0, droppedToProxy: 0, droppedFromProxy: 0 }),
    cappedBytesDown: () => (capped ? cappedBytes() : 0),
    close() {
      closing ??= (async () => {
        await proxy.close();
        if (lossy) run('nft', ['delete', 'table', 'inet', NFT_TABLE]);
        if (capped) run('tc', ['qdisc', 'del', 'dev', 'lo', 'root']);
      })();
      return closing;
    },
  };
}
