// What e2e/firefox-stock.test.ts and its namespace driver share: the scenarios, the veth address and the driver's result.

/** `veth`: the server's ICE on the veth address, expected live. `loopback`: ICE on 127.0.0.1, expected to fail. */
export type NetnsScenario = 'veth' | 'loopback';

export const VETH_ADDRESS = '10.77.0.1';
export const VETH = 'sc-veth0';
export const VETH_PEER = 'sc-veth1';

export interface CandidateStat {
  address: string | null;
  port: number | null;
  candidateType: string | null;
}

export interface NetnsResult {
  scenario: NetnsScenario;
  /** `ip -o link` names before and after setup, and the namespace's routes: the proof that nothing can leave it. */
  linksBefore: string[];
  linksAfter: string[];
  routes: string[];
  state: string;
  error: string | null;
  errorCode: string | null;
  notice: string;
  /** From page load to `live` or `error`. */
  settledMs: number;
  bytesSent: number;
  connectionState: string;
  /** The nominated ICE pair of the page's peer connection (null when none succeeded). */
  local: CandidateStat | null;
  remote: CandidateStat | null;
  /** The media playlist's `#EXTINF` count and the size of its first segment, fetched from the origin. */
  segments: number;
  segmentBytes: number;
  /** The server's last log lines, shown when an assertion fails. */
  serverLog: string[];
}
