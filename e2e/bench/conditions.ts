// Bench part: glass-to-glass latency, stalls, time to first frame, the player's settled target and the viewer's request
// rate behind emulated networks (jitter, loss, a rate cap), direct, through the built-in edge and through nginx. Runs in
// a network namespace of its own (e2e/support/conditions-netns-driver.ts); `npm run bench -- conditions`.
import { quantile } from '../support/abr-trace.ts';
import { CONDITIONS, PATHS, type ConditionRow, type ConditionsResult, type ConditionsRun, type ViewerPath } from '../support/netem.ts';
import { requireNetworkTools, runInNetworkNamespace } from '../support/netns-runner.ts';

/** Launch, go-live and per-row page load and first frame, on top of the measured seconds. */
const SETUP_MS = 60_000;
const ROW_OVERHEAD_MS = 45_000;

/**
 * The run the environment asks for: BENCH_CONDITIONS and BENCH_PATHS (comma-separated names, default all),
 * BENCH_CONDITIONS_SECONDS (default 30), BENCH_TARGET_MS (passed to the viewer page as `&target=`).
 */
export function conditionsRunFromEnv(env: NodeJS.ProcessEnv): ConditionsRun {
  const pick = <T extends string>(variable: string, known: readonly T[]): T[] => {
    const asked = env[variable]?.split(',').map((name) => name.trim()).filter(Boolean);
    if (!asked) return [...known];
    const unknown = asked.filter((name) => !known.includes(name as T));
    if (unknown.length > 0) throw new Error(`${variable}: unknown ${unknown.join(', ')}; known: ${known.join(', ')}`);
    return asked as T[];
  };
  const names = pick('BENCH_CONDITIONS', CONDITIONS.map((c) => c.name));
  const seconds = Number(env.BENCH_CONDITIONS_SECONDS ?? 30);
  if (!(seconds > 0)) throw new Error(`BENCH_CONDITIONS_SECONDS must be a positive number, got ${env.BENCH_CONDITIONS_SECONDS}`);
  const targetMs = env.BENCH_TARGET_MS ? Number(env.BENCH_TARGET_MS) : null;
  if (targetMs !== null && !(targetMs > 0)) throw new Error(`BENCH_TARGET_MS must be a positive number of ms, got ${env.BENCH_TARGET_MS}`);
  return {
    paths: pick<ViewerPath>('BENCH_PATHS', PATHS),
    conditions: CONDITIONS.filter((c) => names.includes(c.name)),
    seconds,
    targetMs,
  };
}

export function benchConditions(run: ConditionsRun): Promise<ConditionsResult> {
  requireNetworkTools(['unshare', 'ip', 'tc', 'nft']);
  const rows = run.paths.length * run.conditions.length;
  return runInNetworkNamespace<ConditionsResult>({
    driver: 'e2e/support/conditions-netns-driver.ts',
    args: [JSON.stringify(run)],
    name: 'network conditions bench',
    timeoutMs: SETUP_MS + rows * (run.seconds * 1000 + ROW_OVERHEAD_MS),
  });
}

const ms = (value: number | null): string => (value !== null && Number.isFinite(value) ? `${Math.round(value)}` : 'n/a');

/**
 * What the row's link really did: the proxy's mean / max hold downstream (and the most a chunk went out after it was
 * due, the emulation's error under load), the share of the viewer's packets nft dropped,
 * the mean rate through the cap over the link's life (page load included), TCP's retransmissions in the namespace.
 */
function applied(row: ConditionRow): string {
  const parts: string[] = [];
  if (row.condition.jitterMs > 0 || row.condition.delayMs > 0) parts.push(`held ${row.heldDownMs.mean.toFixed(0)}/${row.heldDownMs.max.toFixed(0)} ms (late ≤ ${row.heldDownMs.late.toFixed(0)})`);
  if (row.condition.lossPercent > 0) {
    const packets = row.packetsToProxy + row.packetsFromProxy;
    parts.push(`lost ${((100 * (row.droppedToProxy + row.droppedFromProxy)) / Math.max(1, packets)).toFixed(2)} % of ${packets}`);
  }
  if (row.condition.rateMbps !== null) parts.push(`${((row.cappedBytesDown * 8) / 1e6 / Math.max(1, row.linkSeconds)).toFixed(2)} Mbit/s down`);
  parts.push(`${row.tcpRetransSegs} retx`);
  return parts.join(', ');
}

export function conditionsTable(rows: readonly ConditionRow[]): { header: string[]; rows: string[][] } {
  return {
    header: ['path', 'condition', 'g2g p50 / p95 / max ms', 'stalls', 'first frame ms', 'target ms', 'req/s (playlist + media)', 'played / wall s', 'applied'],
    rows: rows.map((row) => {
      if (row.error !== null) return [row.path, row.condition.name, row.error, '', '', '', '', '', applied(row)];
      const latencies = row.latenciesMs;
      const perSecond = (n: number): string => (n / row.measuredSeconds).toFixed(1);
      return [
        row.path,
        row.condition.name,
        `${ms(quantile(latencies, 0.5))} / ${ms(quantile(latencies, 0.95))} / ${ms(latencies.length > 0 ? Math.max(...latencies) : null)}`,
        String(row.stalls),
        ms(row.timeToFirstFrameMs),
        ms(row.targetLatencyMs),
        `${perSecond(row.requests.total)} (${perSecond(row.requests.playlists)} + ${perSecond(row.requests.media)})`,
        `${row.playedSeconds.toFixed(1)} / ${row.measuredSeconds.toFixed(1)}`,
        applied(row),
      ];
    }),
  };
}
