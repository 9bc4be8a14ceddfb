// What the emulated-network suite, the conditions bench and their namespace driver (conditions-netns-driver.ts) share:
// the conditions, the paths a viewer can take, and what one measured row holds.

/** The veth pair a driver's namespace gets so that Chromium gathers a host candidate for the broadcaster's WebRTC leg. */
export const NETEM_VETH = 'sc-netem0';
export const NETEM_VETH_PEER = 'sc-netem1';
export const NETEM_VETH_ADDRESS = '10.77.0.1';

/**
 * One emulated access link between the viewer and what serves it. Delay and jitter are per direction (each chunk held
 * `delayMs` + uniform 0…`jitterMs`, order kept); loss drops that share of the viewer's packets both ways; the rate cap
 * holds each direction to `rateMbps` (null: none).
 */
export interface NetworkCondition {
  name: string;
  delayMs: number;
  jitterMs: number;
  lossPercent: number;
  rateMbps: number | null;
}

const condition = (name: string, fields: Partial<Omit<NetworkCondition, 'name'>>): NetworkCondition => ({
  name,
  delayMs: 0,
  jitterMs: 0,
  lossPercent: 0,
  rateMbps: null,
  ...fields,
});

/** The conditions, in the bench's order. */
export const CONDITIONS: readonly NetworkCondition[] = [
  condition('clean', {}),
  condition('jitter-10', { jitterMs: 10 }),
  condition('jitter-30', { jitterMs: 30 }),
  condition('jitter-50', { jitterMs: 50 }),
  condition('loss-1', { lossPercent: 1 }),
  condition('jitter-30+loss-1', { jitterMs: 30, lossPercent: 1 }),
  condition('cap-3mbit', { rateMbps: 3 }),
];

/** direct: the origin serves the viewer; edge: the built-in edge (ROLE=edge) in front of it; nginx: the shipped nginx config. */
export const PATHS = ['direct', 'edge', 'nginx'] as const;
export type ViewerPath = (typeof PATHS)[number];

/** What the driver is asked to measure: every condition on every path, `seconds` each once the first frame is up. */
export interface ConditionsRun {
  paths: ViewerPath[];
  conditions: NetworkCondition[];
  seconds: number;
  /** Passed to the viewer page as `&target=MS` when set. */
  targetMs: number | null;
}

/** A direction's holds per chunk, and the most one went out after it was due (the emulation's own error, from load). */
interface HeldMs {
  min: number;
  mean: number;
  max: number;
  late: number;
  chunks: number;
}

/** One viewer's run behind one condition on one path. */
export interface ConditionRow {
  path: ViewerPath;
  condition: NetworkCondition;
  /** Why the viewer never showed a frame, when it did not (the other figures are then empty). */
  error: string | null;
  /** Glass-to-glass samples every 250 ms after the first frame: viewer's Date.now() − PDT of the frame on screen. */
  latenciesMs: number[];
  stalls: number;
  timeToFirstFrameMs: number | null;
  targetLatencyMs: number | null;
  state: string;
  /** Media time played (s) over the measured wall time (s). */
  playedSeconds: number;
  measuredSeconds: number;
  /** The viewer's HTTP requests counted at the proxy over the measured time, by kind. */
  requests: { total: number; playlists: number; media: number; other: number };
  /** The proxy's measure of the hold it applied, ms per chunk, downstream and upstream. */
  heldDownMs: HeldMs;
  heldUpMs: HeldMs;
  /** With loss: the viewer's packets nft saw, to the proxy and from it, and those it dropped. */
  packetsToProxy: number;
  packetsFromProxy: number;
  droppedToProxy: number;
  droppedFromProxy: number;
  /** The namespace's TCP segments sent and retransmitted over the row (/proc/net/snmp). */
  tcpOutSegs: number;
  tcpRetransSegs: number;
  /** Bytes the rate cap's queue sent down to the viewer (0 without a cap) over the link's whole life, `linkSeconds`. */
  cappedBytesDown: number;
  linkSeconds: number;
}

export interface ConditionsResult {
  rows: ConditionRow[];
  chromium: string;
  /** `ip link` of lo inside the namespace, as the rows ran (MTU 1500, one segment per packet). */
  loopback: string;
}
