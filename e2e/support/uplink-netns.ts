// What e2e/uplink-adaptation.test.ts and its namespace driver share: the addresses, the links and the driver's result.

/** The server's end of the veth pair (namespace A, the driver's) and the broadcaster's end (namespace B). */
export const SERVER_ADDRESS = '10.78.0.1';
export const BROADCASTER_ADDRESS = '10.78.0.2';
export const SERVER_VETH = 'upl-srv';
export const BROADCASTER_VETH = 'upl-cast';
/** The driver prints this with namespace B's holder pid, so the test can end B's processes if the driver is stuck. */
export const NAMESPACE_B_LINE = 'NAMESPACE_B ';

/** One look at both pages, every 500 ms. */
export interface UplinkSample {
  /** Since the uplink was throttled; negative before. */
  atMs: number;
  throttled: boolean;
  broadcasterState: string;
  /** Per rung, highest first. */
  rungs: { rendition: string; level: string; levelReason: string | null; bitrateKbps: number; sendKbps: number }[];
  uplinkKbps: number | null;
  uplinkRttMs: number | null;
  bufferedBytes: number;
  audioChunksSent: number;
  viewer: { state: string; decodedFrames: number; currentTime: number; stalls: number; bitrate: number };
}

export interface UplinkResult {
  /** `ip -o link` names in namespace A before setup, and namespace A's and B's routes after it. */
  linksBefore: string[];
  routesA: string[];
  routesB: string[];
  /** `tc qdisc show` on the broadcaster's veth while throttled. */
  qdisc: string;
  samples: UplinkSample[];
  /** Since the uplink was throttled: the top rung first lowered, first paused; since it was lifted: back to full. */
  loweredAfterMs: number | null;
  pausedAfterMs: number | null;
  liftedAtMs: number;
  resumedAfterLiftMs: number | null;
  fullAfterLiftMs: number | null;
  serverLog: string[];
}
