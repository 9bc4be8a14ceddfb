// The ONE place that reaches into hls.js internals (1.7: the stream controller's private `fragmentLoader.loadPart`), so a part's whole chunks reach MSE as they arrive.
import type Hls from 'hls.js/light';
import type { FragLoadedData, Fragment, Part } from 'hls.js';

/** Where a fragment loader hands hls.js the leading whole chunks of a part before the rest of the part has arrived. */
export interface PartChunkSink {
  /** The next bytes of the part, continuing what was pushed before: whole moof + mdat chunks only. */
  push(bytes: ArrayBuffer): void;
}

type ProgressCallback = (data: FragLoadedData) => void;
type LoadPart = (frag: Fragment, part: Part, onProgress: ProgressCallback) => Promise<FragLoadedData>;

/** Sinks of the parts hls.js's main stream controller is loading, for the fragment loader it creates for each. */
const sinks = new WeakMap<Part, PartChunkSink>();

/** The sink of `part` while hls.js's main stream controller loads it; undefined for anything else. */
export function partChunkSink(part: Part | null): PartChunkSink | undefined {
  return part ? sinks.get(part) : undefined;
}

/** What the adapter did, for the player's stats (and the test that fails if an hls.js upgrade turns it off). */
export class PartProgress {
  /** The adapter is in place. */
  installed = false;
  /** Chunk runs handed to hls.js before their part had fully arrived. */
  earlyPushes = 0;
}

/**
 * hls.js's FragmentLoader.loadPart gives the loader no progress callback: it passes the stream controller's progress
 * callback the whole part once it has arrived, so a part is appended only then (a part's duration after its first
 * frame). This wraps `loadPart` on the main stream controller's fragment loader so the fragment loader created for a
 * part can push that callback each whole chunk as it arrives (`partChunkSink`); the final whole-part call is then cut
 * down to what was not pushed yet. hls.js's transmuxer takes several pushes of one part as contiguous (each progress
 * call counts a chunk), and with `progressive` off its mp4 demuxer passes each push straight through. Returns the
 * state; `installed` false (with a warning) when hls.js's internals are not as expected, and nothing changes.
 */
export function installPartProgress(hls: Hls): PartProgress {
  const progress = new PartProgress();
  const loader = (hls as unknown as { streamController?: { fragmentLoader?: { loadPart?: unknown } } }).streamController?.fragmentLoader;
  const loadPart = loader?.loadPart;
  if (!loader || typeof loadPart !== 'function' || loadPart.length !== 3) {
    console.warn('[swarmcast] hls.js internals changed (streamController.fragmentLoader.loadPart): parts are appended only once complete');
    return progress;
  }
  const original = loadPart as LoadPart;
  const wrapped: LoadPart = function (this: unknown, frag, part, onProgress) {
    let pushed = 0;
    sinks.set(part, {
      push: (bytes) => {
        pushed += bytes.byteLength;
        progress.earlyPushes++;
        onProgress({ frag, part, payload: bytes, networkDetails: null });
      },
    });
    return original.call(this, frag, part, (data) => {
      sinks.delete(part);
      if (pushed === 0) return onProgress(data);
      // hls.js's whole-part call: only what was not pushed yet (usually nothing) still has to be appended.
      if (data.payload.byteLength > pushed) onProgress({ ...data, payload: data.payload.slice(pushed) });
    });
  };
  loader.loadPart = wrapped;
  progress.installed = true;
  return progress;
}
