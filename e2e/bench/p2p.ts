// `npm run bench -- p2p`: viewers in `low` and `p2p` mode, each configuration in a fresh network namespace of its own
// (e2e/support/p2p-netns-driver.ts): share of media bytes from peers, edge traffic, latency, stalls and CPU.
import { runInNetworkNamespace, requireNetworkTools } from '../support/netns-runner.ts';
import type { P2pBenchRow } from '../support/p2p-netns.ts';

/** Start-up (encoding the source, launching browsers, every viewer playing) plus the measured window, bounded. */
const RUN_OVERHEAD_MS = 150_000;

export async function benchP2p(viewerCounts: readonly number[], seconds: number): Promise<P2pBenchRow[]> {
  requireNetworkTools(['unshare', 'ip']);
  const rows: P2pBenchRow[] = [];
  for (const viewers of viewerCounts) {
    for (const mode of ['low', 'p2p'] as const) {
      rows.push(
        await runInNetworkNamespace<P2pBenchRow>({
          driver: 'e2e/support/p2p-netns-driver.ts',
          args: ['bench', String(viewers), mode, String(seconds)],
          name: `p2p bench (${viewers} ${mode})`,
          timeoutMs: RUN_OVERHEAD_MS + seconds * 1000,
        }),
      );
    }
  }
  return rows;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const seconds = (ms: number | null): string => (ms === null ? '–' : `${(ms / 1000).toFixed(2)} s`);

export function p2pTable(rows: readonly P2pBenchRow[]): { header: string[]; rows: string[][] } {
  return {
    header: ['viewers', 'mode', 'bytes from peers', 'edge media requests / bytes', 'playlist requests', 'latency p50 / p95', 'stalls', 'peers each', 'peer connections made each', 'CPU', 'playing'],
    rows: rows.map((r) => [
      String(r.viewers),
      r.mode,
      r.mode === 'p2p' ? `${(r.peerShare * 100).toFixed(0)} %` : '–',
      `${r.edge.mediaRequests} / ${mb(r.edge.mediaBytes)}`,
      String(r.edge.playlistRequests),
      `${seconds(r.latencyP50Ms)} / ${seconds(r.latencyP95Ms)}`,
      String(r.stalls),
      r.mode === 'p2p' ? r.peersPerViewer.toFixed(1) : '–',
      r.mode === 'p2p' ? r.peerConnectionsPerViewer.toFixed(0) : '–',
      `${r.cpuPercent} %`,
      `${r.playing}/${r.viewers}`,
    ]),
  };
}
