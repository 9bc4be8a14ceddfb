// The one hls.js Loader adapter for edge failover: each request goes to the active edge and is retried on the next edge
// when the active one fails, so hls.js sees neither the failure nor a reload.
import Hls from 'hls.js/light';
import type { HlsConfig, LoaderCallbacks, LoaderConfiguration, LoaderContext } from 'hls.js';
import type { EdgeSet } from './edge-set.ts';
import { WrappingLoader } from './wrapping-loader.ts';

type LoaderClass = HlsConfig['loader'];

/** A response that says the edge itself is in trouble (unreachable, reset, or answering 5xx), not the content. */
export function isEdgeFailure(code: number): boolean {
  return code === 0 || code >= 500;
}

/** An hls.js loader class that routes every request through `edges`, falling back to the default loader's transport. */
export function edgeFailoverLoader(edges: EdgeSet, Inner: LoaderClass = Hls.DefaultConfig.loader): LoaderClass {
  return class EdgeFailoverLoader extends WrappingLoader {
    #config: HlsConfig;

    constructor(config: HlsConfig) {
      super(new Inner(config));
      this.#config = config;
    }

    load(context: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
      this.context = context;
      const requested = context.url;
      let failovers = 0;
      const attempt = (): void => {
        const origin = edges.active;
        context.url = edges.route(requested);
        // Each edge gets one try per request; after every edge failed, hls.js's own retry policy takes over.
        const failover = (reason: string): boolean => {
          edges.fail(origin, reason);
          if (failovers >= edges.origins.length - 1 || edges.active === origin) return false;
          failovers++;
          this.inner.destroy();
          this.inner = new Inner(this.#config);
          attempt();
          return true;
        };
        // hls.js gets its context back with the URL it asked for: its key loader finds the key it awaits by that URL
        // (a routed URL there fails every key load after a failover).
        const answered = (): LoaderContext => Object.assign(context, { url: requested });
        this.inner.load(context, config, {
          ...callbacks,
          onSuccess: (response, stats, _ctx, details) => callbacks.onSuccess(response, stats, answered(), details),
          onError: (error, _ctx, details, stats) => {
            if (isEdgeFailure(error.code) && failover(`HTTP ${error.code || 'connection error'} from ${origin}`)) return;
            callbacks.onError(error, answered(), details, stats);
          },
          onTimeout: (stats, _ctx, details) => {
            if (failover(`timeout from ${origin}`)) return;
            callbacks.onTimeout(stats, answered(), details);
          },
        });
      };
      attempt();
    }
  };
}
