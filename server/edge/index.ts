// Public surface of the edge stage: the caching proxy, its routes and config, its upstream-wait rule, the tracker relay.
export { Edge, type EdgeOptions } from './edge.ts';
export { registerEdgeRoutes } from './http.ts';
export { EDGE_DEFAULTS, resolveEdgeConfig, type EdgeConfig } from './config.ts';
export { upstreamWaitMs, targetDurationOf } from './upstream-wait.ts';
export { TrackerRelay } from './tracker-relay.ts';
