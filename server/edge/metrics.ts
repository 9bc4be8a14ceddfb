// Prometheus metrics of an edge: cache hits and misses, collapsed requests, upstream traffic and errors, waiting clients.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface EdgeGaugeSources {
  waitingClients: () => number;
  cacheBytes: () => number;
  cacheObjects: () => number;
  inFlightRequests: () => number;
}

export interface EdgeMetrics {
  hits: Counter<'kind'>;
  misses: Counter<'kind'>;
  collapsed: Counter<'kind'>;
  staleServed: Counter<'kind'>;
  upstreamRequests: Counter<'kind'>;
  upstreamErrors: Counter<'kind' | 'reason'>;
  rejected: Counter<'reason'>;
  bytesOut: Counter;
}

export function createEdgeMetrics(registry: Registry, sources: EdgeGaugeSources): EdgeMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter({ name, help, labelNames, registers });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers, collect() { this.set(read()); } });
  };
  gauge('swarmcast_edge_waiting_clients', 'Clients waiting on an upstream request (held playlists and parts included).', sources.waitingClients);
  gauge('swarmcast_edge_inflight_upstream_requests', 'Upstream requests in flight (one per distinct URL).', sources.inFlightRequests);
  gauge('swarmcast_edge_cache_bytes', 'Bytes held by the edge cache, bookkeeping included.', sources.cacheBytes);
  gauge('swarmcast_edge_cache_objects', 'Objects held by the edge cache.', sources.cacheObjects);
  return {
    hits: counter('swarmcast_edge_cache_hits_total', 'Requests answered from the cache.', ['kind']),
    misses: counter('swarmcast_edge_cache_misses_total', 'Requests that started an upstream request.', ['kind']),
    collapsed: counter('swarmcast_edge_collapsed_requests_total', 'Requests joined to an identical upstream request already in flight.', ['kind']),
    staleServed: counter('swarmcast_edge_stale_served_total', 'Requests answered with a stale cached object because upstream failed.', ['kind']),
    upstreamRequests: counter('swarmcast_edge_upstream_requests_total', 'Requests sent upstream, by object kind (playlist, digests, part, segment, init, key, other).', ['kind']),
    upstreamErrors: counter('swarmcast_edge_upstream_errors_total', 'Upstream requests that failed on every origin.', ['kind', 'reason']),
    rejected: counter('swarmcast_edge_rejected_total', 'Clients turned away because a waiting bound was reached.', ['reason']),
    bytesOut: new Counter({ name: 'swarmcast_edge_bytes_out_total', help: 'Body bytes sent to clients.', registers }),
  };
}
