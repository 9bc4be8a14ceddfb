// The edge failover loader: requests go to the active edge, fail over once per edge, and hls.js gets its context back
// with the URL it asked for.
import { describe, expect, it } from 'vitest';
import type { HlsConfig, Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext, LoaderStats } from 'hls.js';
import { edgeFailoverLoader } from './edge-failover-loader.ts';
import { EdgeSet } from './edge-set.ts';

const EDGE_B = 'http://127.0.0.1:8081';
const EDGE_C = 'http://127.0.0.1:8082';
const KEY_URL = `${EDGE_B}/t/aaa.bbb.ccc/live/a/v0/key-e1-2.key`;

/** An inner loader answering from a table by the URL it is asked for: a status of 0 is a connection error. */
function fakeLoader(statusByOrigin: Record<string, number>, requested: string[]): HlsConfig['loader'] {
  return class FakeLoader implements Loader<LoaderContext> {
    context: LoaderContext | null = null;
    stats = {} as LoaderStats;
    load(context: LoaderContext, _config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
      requested.push(context.url);
      const status = statusByOrigin[new URL(context.url).origin] ?? 0;
      if (status === 200) callbacks.onSuccess({ url: context.url, data: new ArrayBuffer(16) }, this.stats, context, null);
      else callbacks.onError({ code: status, text: 'failed' }, context, null, this.stats);
    }
    abort(): void {}
    destroy(): void {}
  } as unknown as HlsConfig['loader'];
}

function load(Loader: HlsConfig['loader'], url: string): Promise<{ outcome: 'success' | 'error'; contextUrl: string; responseUrl?: string }> {
  return new Promise((resolve) => {
    const loader = new Loader({} as HlsConfig);
    loader.load({ url, responseType: 'arraybuffer' } as LoaderContext, {} as LoaderConfiguration, {
      onSuccess: (response, _stats, ctx) => resolve({ outcome: 'success', contextUrl: ctx.url, responseUrl: response.url }),
      onError: (_error, ctx) => resolve({ outcome: 'error', contextUrl: ctx.url }),
      onTimeout: (_stats, ctx) => resolve({ outcome: 'error', contextUrl: ctx.url }),
    });
  });
}

describe('edgeFailoverLoader', () => {
  it('moves a request to the next edge when the active one is gone, and answers with the URL hls.js asked for', async () => {
    const edges = new EdgeSet([EDGE_B, EDGE_C]);
    const requested: string[] = [];
    const Loader = edgeFailoverLoader(edges, fakeLoader({ [EDGE_C]: 200 }, requested));
    const first = await load(Loader, KEY_URL);
    expect(requested).toEqual([KEY_URL, KEY_URL.replace(EDGE_B, EDGE_C)]);
    expect(edges.active).toBe(EDGE_C);
    // hls.js's key loader finds the key it awaits by the context's URL: it must be the one it asked for.
    expect(first).toEqual({ outcome: 'success', contextUrl: KEY_URL, responseUrl: KEY_URL.replace(EDGE_B, EDGE_C) });
    // Later requests for edge B's URLs go straight to C, and still answer under the URL asked for.
    expect(await load(Loader, KEY_URL)).toMatchObject({ outcome: 'success', contextUrl: KEY_URL });
    expect(requested.at(-1)).toBe(KEY_URL.replace(EDGE_B, EDGE_C));
  });

  it('passes an error on, under the URL asked for, once every edge failed', async () => {
    const edges = new EdgeSet([EDGE_B, EDGE_C]);
    const requested: string[] = [];
    const result = await load(edgeFailoverLoader(edges, fakeLoader({}, requested)), KEY_URL);
    expect(requested).toHaveLength(2);
    expect(result).toEqual({ outcome: 'error', contextUrl: KEY_URL });
  });
});
