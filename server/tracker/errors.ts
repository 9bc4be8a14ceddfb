// Typed errors of the tracker: a refused announce carries its reason (the failure reason the client reads) and the swarm.
export type AnnounceRefusal = 'unknown-swarm' | 'swarm-full' | 'rate-limited' | 'too-many-swarms' | 'other-stream';

const FAILURE_REASON: Record<AnnounceRefusal, string> = {
  'unknown-swarm': 'unknown info hash: not a variant of a live stream',
  'swarm-full': 'swarm is full',
  'rate-limited': 'too many announces on this connection: slow down',
  'too-many-swarms': 'this connection is in too many swarms',
  'other-stream': "this connection's playback token is for another stream",
};

export class AnnounceRefused extends Error {
  override name = 'AnnounceRefused';
  constructor(
    readonly reason: AnnounceRefusal,
    /** Hex info hash of the swarm the announce named. */
    readonly infoHash: string,
  ) {
    super(FAILURE_REASON[reason]);
  }
}

export class TrackerError extends Error {
  override name = 'TrackerError';
  constructor(
    readonly code: 'bad-config',
    message: string,
  ) {
    super(message);
  }
}
