// The part every hls.js Loader adapter of the player shares: it wraps another loader and passes the life-cycle calls on.
import type { Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext, LoaderStats } from 'hls.js';

/** A loader that does its work through `inner`; subclasses say how `load` uses it (and may replace it). */
export abstract class WrappingLoader implements Loader<LoaderContext> {
  context: LoaderContext | null = null;
  protected inner: Loader<LoaderContext>;

  constructor(inner: Loader<LoaderContext>) {
    this.inner = inner;
  }

  /** The stats of the request in flight, which the inner loader keeps. */
  get stats(): LoaderStats {
    return this.inner.stats;
  }

  /** hls.js's loaders have a plain `stats` field, which some callers set (p2p-media-loader hands its own in). */
  set stats(stats: LoaderStats) {
    this.inner.stats = stats;
  }

  abstract load(context: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void;

  abort(): void {
    this.inner.abort();
  }

  destroy(): void {
    this.inner.destroy();
    this.context = null;
  }

  getCacheAge(): number | null {
    return this.inner.getCacheAge?.() ?? null;
  }

  getResponseHeader(name: string): string | null {
    return this.inner.getResponseHeader?.(name) ?? null;
  }
}
