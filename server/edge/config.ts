// Edge settings: where the origins are, how much the cache holds, and the bounds on waiting for upstream.
import { EdgeError } from './errors.ts';

export interface EdgeConfig {
  /** Upstream origins (or a shield edge), tried in this order; the next one takes over on connection error, 5xx or timeout. */
  originUrls: string[];
  /** Bytes of bodies the in-memory cache keeps before evicting the least recently used. */
  cacheMaxBytes: number;
  /**
   * Override of the longest wait for upstream headers, and longest silence between body bytes, ms. Unset (the default),
   * it is derived per stream from the EXT-X-TARGETDURATION last seen (upstream-wait.ts), so it always outlasts the
   * origin's hold of a blocking reload (3 × target duration) and a held request is answered by the origin, not cut here.
   */
  upstreamTimeoutMs: number | undefined;
  /** How long an origin that refused a connection or timed out is skipped before it is tried first again, ms. */
  originRetryMs: number;
  /** Clients waiting on one in-flight upstream request; more are answered 503. */
  maxWaitersPerRequest: number;
  /** Clients waiting on upstream in total; more are answered 503. */
  maxWaitingClients: number;
}

export const EDGE_DEFAULTS: EdgeConfig = {
  originUrls: [],
  cacheMaxBytes: 256 * 1024 * 1024,
  upstreamTimeoutMs: undefined,
  originRetryMs: 5_000,
  maxWaitersPerRequest: 20_000,
  maxWaitingClients: 100_000,
};

/** Merges overrides into the defaults and refuses a configuration the edge cannot run with. */
export function resolveEdgeConfig(overrides: Partial<EdgeConfig> = {}): EdgeConfig {
  const config: EdgeConfig = { ...EDGE_DEFAULTS, ...overrides };
  if (config.originUrls.length === 0) throw new EdgeError('bad-config', 'an edge needs at least one origin URL');
  for (const url of config.originUrls) {
    if (!/^https?:\/\/[^/]+\/?$/.test(url)) throw new EdgeError('bad-config', `origin URL ${url} must be http(s)://host[:port]`);
  }
  for (const key of ['cacheMaxBytes', 'upstreamTimeoutMs', 'originRetryMs', 'maxWaitersPerRequest', 'maxWaitingClients'] as const) {
    const value = config[key];
    if (key === 'upstreamTimeoutMs' && value === undefined) continue;
    if (value === undefined || !Number.isInteger(value) || value <= 0) throw new EdgeError('bad-config', `${key} must be a positive integer, got ${value}`);
  }
  return config;
}
