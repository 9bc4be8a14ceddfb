// Prometheus metrics of the tracker: swarms, peers, connections, announces, relayed offers and answers, refusals.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface TrackerGaugeSources {
  swarms: () => number;
  peers: () => number;
  connections: () => number;
}

export interface TrackerMetrics {
  announces: Counter;
  relayed: Counter<'kind'>;
  rejected: Counter<'reason'>;
  pruned: Counter;
}

export function createTrackerMetrics(registry: Registry, sources: TrackerGaugeSources): TrackerMetrics {
  const registers = [registry];
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers, collect() { this.set(read()); } });
  };
  gauge('swarmcast_tracker_swarms', 'Swarms (one per variant of a stream) the tracker holds.', sources.swarms);
  gauge('swarmcast_tracker_peers', 'Peers in all swarms.', sources.peers);
  gauge('swarmcast_tracker_connections', 'WebSocket connections to the tracker.', sources.connections);
  return {
    announces: new Counter({ name: 'swarmcast_tracker_announces_total', help: 'Announces admitted (offers and answers included).', registers }),
    relayed: new Counter({
      name: 'swarmcast_tracker_signals_relayed_total',
      help: 'WebRTC offers and answers relayed from one peer to another.',
      labelNames: ['kind'] as const,
      registers,
    }),
    rejected: new Counter({
      name: 'swarmcast_tracker_rejected_total',
      help: 'Announces refused (unknown-swarm, swarm-full, rate-limited, too-many-swarms, other-stream), connections refused (connections) and connections closed for an oversize message (oversize).',
      labelNames: ['reason'] as const,
      registers,
    }),
    pruned: new Counter({ name: 'swarmcast_tracker_swarms_pruned_total', help: 'Empty swarms dropped.', registers }),
  };
}
