// Talking to the tracker as p2p-media-loader does: the info hash the library derives from a served multivariant
// playlist (hls.js's parser, the library's own functions), announced with bittorrent-tracker's own Client.
import { Client } from 'bittorrent-tracker';
import { M3U8Parser } from 'hls.js';
import type { ManifestLoadedData } from 'hls.js';
import { Core } from 'p2p-media-loader-core';
// Not exported by the packages (their `exports` maps stop at the root): reached by path to run the code players run.
import { getStreamHash } from '../../node_modules/p2p-media-loader-core/lib/utils/peer.js';
import { getStreamSwarmId } from '../../node_modules/p2p-media-loader-core/lib/utils/stream.js';
import { SegmentManager } from '../../node_modules/p2p-media-loader-hlsjs/lib/segment-manager.js';
import { multivariantPath } from '../../shared/playback-path.ts';
import { swarmIdFor } from '../../shared/p2p-swarm.ts';

/** The info hash p2p-media-loader announces for `rendition` of `stream` as served at `baseUrl`. */
export async function libraryInfoHash(baseUrl: string, stream: string, rendition: string): Promise<string> {
  const url = `${baseUrl}${multivariantPath(stream)}`;
  const parsed = M3U8Parser.parseMasterPlaylist(await (await fetch(url)).text(), url);
  const core = new Core({ swarmId: swarmIdFor(stream) });
  new SegmentManager(core).processMainManifest({ levels: parsed.levels, audioTracks: [] } as unknown as ManifestLoadedData);
  const level = parsed.levels.find((l) => l.url.includes(`/${rendition}/`));
  const libraryStream = level && core.getStream(level.url);
  if (!libraryStream) throw new Error(`no ${rendition} variant in ${url}`);
  return getStreamHash(getStreamSwarmId(swarmIdFor(stream), libraryStream));
}

export type AnnounceOutcome = { kind: 'update'; complete: number; incomplete: number } | { kind: 'warning'; message: string };

export interface Announced {
  outcome: AnnounceOutcome;
  /** Leaves the tracker (the client's connection closes). */
  close(): Promise<void>;
}

/**
 * Announces `infoHash` (20 characters) with bittorrent-tracker's Client and reports the tracker's first answer. No
 * offers are sent (`numwant: 0`), so no peer connection is attempted.
 */
export async function announce(trackerUrl: string, infoHash: string, peerId: string): Promise<Announced> {
  const client = new Client({ infoHash: Buffer.from(infoHash, 'latin1'), peerId: Buffer.from(peerId, 'latin1'), announce: [trackerUrl], port: 6881 });
  const close = (): Promise<void> => new Promise<void>((done) => client.destroy(() => done()));
  try {
    const outcome = await new Promise<AnnounceOutcome>((resolve, reject) => {
      client.once('update', (data: { complete: number; incomplete: number }) => resolve({ kind: 'update', complete: data.complete, incomplete: data.incomplete }));
      client.once('warning', (err: Error) => resolve({ kind: 'warning', message: err.message }));
      client.once('error', reject);
      client.start({ numwant: 0 });
    });
    return { outcome, close };
  } catch (err) {
    await close();
    throw err;
  }
}
