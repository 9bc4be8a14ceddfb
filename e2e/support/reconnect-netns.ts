// What e2e/broadcaster-reconnect.test.ts and its namespace driver share: the driver's results.
import type { PageLog } from './reconnect-viewer.ts';

/** A page's log, and its document's timeOrigin when recording began (another at the end: it was reloaded). */
type RecordedPage = { log: PageLog; timeOriginBefore: number };

export interface ReconnectResult {
  /** `ip -o link` names in namespace A before setup. */
  linksBefore: string[];
  /** From the link going down to the broadcaster's stats saying `reconnecting`. */
  noticedAfterMs: number;
  /** From the link coming back up to the broadcaster live again on a new connection. */
  reconnectedAfterMs: number;
  /** The broadcaster page's reconnecting notice: shown while the connection was lost, hidden once it was back. */
  notice: { whileLost: boolean; afterReconnect: boolean };
  broadcaster: { state: string; reconnecting: boolean; reconnects: number; error: string | null } & RecordedPage;
  viewer: { state: string; currentTime: number; atReconnect: number } & RecordedPage;
  /** The stream's first media playlist at the end. */
  playlist: string;
  /** The server's publish and origin log lines. */
  serverLog: string[];
}

/** The stop scenario: Stop pressed while reconnecting, the server out of reach until the stream was in its grace period. */
export interface StopResult {
  /** From the click on Stop to the page idle. */
  idleAfterMs: number;
  /** The playlist had EXT-X-ENDLIST before the link came back (nothing could have told the server). */
  endedWhileDown: boolean;
  /** From the link coming back to EXT-X-ENDLIST in the playlist. */
  endedAfterLinkUpMs: number;
  /** From the server's `publish.grace` log line to EXT-X-ENDLIST. */
  endedAfterGraceBeganMs: number;
  graceMs: number;
  /** The page's requests to the publish API and the scenario's steps, with times. */
  requests: string[];
  /** The ended media playlist. */
  playlist: string;
  /** The server's publish and origin log lines. */
  serverLog: string[];
}
