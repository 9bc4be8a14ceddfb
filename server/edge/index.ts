// Public surface of the edge stage: the caching proxy, its routes and config, and the pure cache rules.
export { Edge, type EdgeHealth, type EdgeOptions } from './edge.ts';
export { registerEdgeRoutes } from './http.ts';
export { EDGE_DEFAULTS, resolveEdgeConfig, type EdgeConfig } from './config.ts';
export { EdgeError, type EdgeErrorCode } from './errors.ts';
export { cachePolicyOf, parseCacheControl, type CachePolicy } from './cache-control.ts';
export { cacheKeyOf, objectKindOf, OBJECT_KINDS, type ObjectKind } from './cache-key.ts';
export { ObjectCache, type CachedObject } from './object-cache.ts';
export { upstreamWaitMs, targetDurationOf } from './upstream-wait.ts';
export { UpstreamPool, type UpstreamHealth, type UpstreamHead, type UpstreamSink } from './upstream.ts';
