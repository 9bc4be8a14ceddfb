// Ingest settings: WebRTC engine options and the limits that protect the origin from publishers.

/**
 * Who may take a live stream from its publisher. `field`: a field encoder (RTMP, SRT, WHIP) with the key takes over a
 * stream another field encoder holds (a restarted encoder whose old connection the server has not seen die yet);
 * `off`: a live name is refused as busy until its publisher's session ends.
 */
export type PublishTakeover = 'field' | 'off';

export interface IngestConfig {
  /** Concurrent publish sessions; the next publish is answered 503. */
  maxStreams: number;
  /** Publish requests per client address per minute; more are answered 429. */
  maxPublishesPerMinute: number;
  /** Largest SDP offer body accepted, bytes; larger is 413. */
  maxOfferBytes: number;
  /** Time for ICE gathering on the server before the answer is sent, ms. */
  gatheringTimeoutMs: number;
  /** Time from the answer to an open data channel before the session is dropped, ms. */
  connectTimeoutMs: number;
  /** A publisher that sends nothing for this long is dropped, ms. */
  idleTimeoutMs: number;
  /** Address ICE binds to and offers as its host candidate. */
  iceBindAddress: string;
  /** UDP port range for ICE (0 and 0: any port). */
  icePortRangeBegin: number;
  icePortRangeEnd: number;
  /** SCTP max-message-size announced in the answer, bytes; frames above the protocol's own limit are still refused. */
  sctpMaxMessageBytes: number;
  /** The most a WHIP publisher is asked to send (RTCP REMB), bit/s: its congestion control rises to it when the path allows. */
  whipMaxBitrate: number;
  /** How long a stream whose publisher dropped (connection lost, idle) stays live for it to come back, ms; 0: off. */
  publishGraceMs: number;
  /** Whether a field encoder takes over a stream another field encoder holds (PUBLISH_TAKEOVER). */
  publishTakeover: PublishTakeover;
}

export const INGEST_DEFAULTS: IngestConfig = {
  maxStreams: 64,
  maxPublishesPerMinute: 30,
  maxOfferBytes: 64 * 1024,
  gatheringTimeoutMs: 5_000,
  connectTimeoutMs: 15_000,
  idleTimeoutMs: 10_000,
  iceBindAddress: '127.0.0.1',
  icePortRangeBegin: 0,
  icePortRangeEnd: 0,
  sctpMaxMessageBytes: 1024 * 1024,
  publishGraceMs: 10_000,
  publishTakeover: 'field',
  whipMaxBitrate: 6_000_000,
};
