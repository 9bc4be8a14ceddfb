// What e2e/uplink-adaptation.test.ts and its namespace driver share: the addresses, the links and the driver's result.

/**
 * Three namespaces: A (the driver's: server and viewer), R (a router) and B (the broadcaster), joined by two veth
 * pairs, A–R on 10.78.1.0/24 and R–B on 10.78.0.0/24. The rate limit sits on R's link towards A, as at an access
 * router: the broadcaster's own socket never blocks on it (a tbf on B's own link would hold packets in Chromium's UDP
 * socket queue, seconds of them, where no real uplink does).
 */
export const SERVER_ADDRESS = '10.78.1.1';
export const ROUTER_SERVER_SIDE = '10.78.1.2';
export const ROUTER_BROADCASTER_SIDE = '10.78.0.1';
export const BROADCASTER_ADDRESS = '10.78.0.2';
export const SERVER_VETH = 'upl-srv';
export const ROUTER_SERVER_VETH = 'upl-rt-srv';
export const ROUTER_BROADCASTER_VETH = 'upl-rt-cast';
export const BROADCASTER_VETH = 'upl-cast';
/** The driver prints this with the pid holding R and B, so the test can end their processes if the driver is stuck. */
export const NAMESPACE_LINE = 'NAMESPACE ';

/** One look at both pages, every 500 ms. */
export interface UplinkSample {
  /** Since the uplink was throttled; negative before. */
  atMs: number;
  throttled: boolean;
  broadcasterState: string;
  /** Per rung, highest first. */
  rungs: { rendition: string; level: string; levelReason: string | null; bitrateKbps: number; sendKbps: number }[];
  /** The state cell of the top rung's row in the broadcaster page's rung table. */
  topRowState: string;
  uplinkKbps: number | null;
  uplinkRttMs: number | null;
  bufferedBytes: number;
  /** Bytes queued per channel (its send queue's and its own): `control`, each rendition, `audio`. */
  channelBufferedBytes: Record<string, number>;
  audioChunksSent: number;
  /** Bytes handed to the track channels that the ingest's receipts do not count yet; null without receipts. */
  inFlightBytes: number | null;
  viewer: { state: string; decodedFrames: number; currentTime: number; stalls: number; rendition: string | null; bufferMs: number; latencyMs: number | null };
}

export interface UplinkResult {
  /** `ip -o link` names in namespace A before setup, and the routes of A, R and B after it. */
  linksBefore: string[];
  routesA: string[];
  routesR: string[];
  routesB: string[];
  /** `tc qdisc show` on the router's link towards the server while throttled. */
  qdisc: string;
  samples: UplinkSample[];
  /**
   * Since the uplink was throttled: the top rung first lowered while throttled (null: it paused at once), first
   * paused; since it was lifted: the top rung back, and every rung full.
   */
  loweredAfterMs: number | null;
  pausedAfterMs: number | null;
  liftedAtMs: number;
  resumedAfterLiftMs: number | null;
  fullAfterLiftMs: number | null;
  /**
   * Since the uplink was throttled (negative before): when each new part of the lowest rung (its video and the muxed
   * audio) appeared in the origin's playlist, polled every 100 ms: what the ingest received, seen from the server.
   */
  lowestPartAtMs: number[];
  serverLog: string[];
}
