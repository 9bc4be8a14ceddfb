// What e2e/broadcaster-reconnect.test.ts and its namespace driver share: the driver's result.

interface PageLog {
  /** Every data-state the page's body took after recording began, in order. */
  states: string[];
  /** Stalls of the viewer's video ('waiting' to 'playing'), on the page's performance clock, ms. */
  stalls: { startMs: number; endMs?: number }[];
  /** Page loads after recording began (a reload would add one). */
  navigations: number;
}

export interface ReconnectResult {
  /** `ip -o link` names in namespace A before setup. */
  linksBefore: string[];
  /** From the link going down to the broadcaster's stats saying `reconnecting`. */
  noticedAfterMs: number;
  /** From the link coming back up to the broadcaster live again on a new connection. */
  reconnectedAfterMs: number;
  /** The broadcaster page's reconnecting notice: shown while the connection was lost, hidden once it was back. */
  notice: { whileLost: boolean; afterReconnect: boolean };
  broadcaster: { state: string; reconnecting: boolean; reconnects: number; error: string | null; log: PageLog };
  viewer: { state: string; currentTime: number; atReconnect: number; log: PageLog };
  /** The stream's first media playlist at the end. */
  playlist: string;
  /** The server's publish and origin log lines. */
  serverLog: string[];
}
