// Tracker bounds: connections, identities per connection, peers per swarm, message size, announce rate, pruning.
import { TrackerError } from './errors.ts';

export interface TrackerConfig {
  /** WebSocket connections held at once; an upgrade beyond it is answered 503. */
  maxConnections: number;
  /** Swarm memberships (info hash and peer id pairs) one connection may hold: a player joins one swarm per variant it plays. */
  maxMembershipsPerConnection: number;
  /** Peers in one swarm; a new peer beyond it is refused (`swarm is full`). */
  maxPeersPerSwarm: number;
  /** Largest WebSocket message, bytes; a larger frame closes the connection (close code 1009). */
  maxMessageBytes: number;
  /** Announces a connection may send at once after a quiet spell (its offers and answers are announces too). */
  announceBurst: number;
  /** Announces a connection may send per second, sustained. */
  announcesPerSecond: number;
  /** How often swarms without peers are dropped, ms. */
  pruneIntervalMs: number;
  /**
   * How often a player announces again, ms; each announce offers connections to peers it may not have yet. A peer that
   * lost a connection (or joined a busy swarm) gets new ones only then: bittorrent-tracker's 2 minutes leave small swarms
   * half connected for as long.
   */
  announceIntervalMs: number;
}

export const TRACKER_DEFAULTS: TrackerConfig = {
  maxConnections: 10_000,
  maxMembershipsPerConnection: 16,
  maxPeersPerSwarm: 1_000,
  // Five offers (bittorrent-tracker's most per announce) of a few KiB of SDP each, with room to spare.
  maxMessageBytes: 64 * 1024,
  announceBurst: 20,
  announcesPerSecond: 2,
  pruneIntervalMs: 30_000,
  announceIntervalMs: 10_000,
};

/** Merges overrides into the defaults and refuses bounds that are not positive integers. */
export function resolveTrackerConfig(overrides: Partial<TrackerConfig> = {}): TrackerConfig {
  const config: TrackerConfig = { ...TRACKER_DEFAULTS, ...overrides };
  for (const [key, value] of Object.entries(config)) {
    if (!Number.isFinite(value) || value <= 0 || (key !== 'announcesPerSecond' && !Number.isInteger(value))) {
      throw new TrackerError('bad-config', `${key} must be a positive ${key === 'announcesPerSecond' ? 'number' : 'integer'}, got ${value}`);
    }
  }
  return config;
}
