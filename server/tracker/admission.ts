// Which info hashes the tracker admits: those of the variants the origin's streams have published, computed as players
// do, each mapped to the one swarm of its stream's rendition.
import { createHash } from 'node:crypto';
import { infoHashFor, type SwarmVariant } from '../../shared/p2p-swarm.ts';

/** What the tracker needs from the origin: the variants its multivariant playlists list now or have listed. */
export interface SwarmDirectory {
  publishedVariants(): Iterable<{ stream: string; rendition: string; variant: SwarmVariant }>;
}

/** Where an admitted info hash belongs. */
export interface AdmittedSwarm {
  stream: string;
  /**
   * The tracker's swarm (hex, as bittorrent-tracker keys swarms) for every info hash of the stream's rendition.
   * p2p-media-loader hashes BANDWIDTH into a variant's info hash, and the origin republishes BANDWIDTH when the measured
   * rate drifts (from the publisher's declared rate after the first segment, for one): viewers who read the
   * multivariant playlist at different times announce different hashes for the same media. They play the same media
   * playlist (the same segments by sequence number, which is all peers exchange), so the tracker puts them in one swarm.
   */
  swarm: string;
}

export class SwarmAdmission {
  #directory: SwarmDirectory;
  /** Hex info hash of each published variant, by stream, rendition and variant; forgotten once the directory stops listing it. */
  #hashes = new Map<string, { stream: string; swarm: string; infoHash: Promise<string> }>();

  constructor(directory: SwarmDirectory) {
    this.#directory = directory;
  }

  /** The stream and swarm of the published variant `infoHashHex` is the info hash of, or undefined. */
  async swarmOf(infoHashHex: string): Promise<AdmittedSwarm | undefined> {
    const listed = new Set<string>();
    for (const { stream, rendition, variant } of this.#directory.publishedVariants()) {
      const key = `${stream}\n${rendition}\n${JSON.stringify(variant)}`;
      listed.add(key);
      if (!this.#hashes.has(key)) {
        this.#hashes.set(key, { stream, swarm: renditionSwarm(stream, rendition), infoHash: infoHashFor(stream, variant).then(hexOf) });
      }
    }
    for (const key of this.#hashes.keys()) if (!listed.has(key)) this.#hashes.delete(key);
    for (const { stream, swarm, infoHash } of this.#hashes.values()) {
      if ((await infoHash) === infoHashHex) return { stream, swarm };
    }
    return undefined;
  }
}

/**
 * The tracker's own key for a rendition's swarm: it never reaches a client (the tracker writes each client's own info
 * hash into what it sends), so it only has to be 20 bytes, distinct per rendition and unlike any player's hash.
 */
function renditionSwarm(stream: string, rendition: string): string {
  return createHash('sha1').update(`swarmcast-rendition\n${stream}\n${rendition}`).digest('hex');
}

/**
 * bittorrent-tracker's form of an info hash: the hex of its 20 bytes (p2p-media-loader's are ASCII characters; in the
 * tracker's messages an info hash is a string of one character per byte).
 */
export function hexOf(infoHash: string): string {
  return Buffer.from(infoHash, 'latin1').toString('hex');
}
