// Which info hashes the tracker admits: those of the variants the origin's streams have published, computed as players do.
import { infoHashFor, type SwarmVariant } from '../../shared/p2p-swarm.ts';

/** What the tracker needs from the origin: the variants its multivariant playlists list now or have listed. */
export interface SwarmDirectory {
  publishedVariants(): Iterable<{ stream: string; variant: SwarmVariant }>;
}

export class SwarmAdmission {
  #directory: SwarmDirectory;
  /** Hex info hash of each published variant, by stream and variant; forgotten once the directory stops listing it. */
  #hashes = new Map<string, { stream: string; infoHash: Promise<string> }>();

  constructor(directory: SwarmDirectory) {
    this.#directory = directory;
  }

  /** The stream whose published variant `infoHashHex` is the swarm of, or undefined. */
  async streamOf(infoHashHex: string): Promise<string | undefined> {
    const listed = new Set<string>();
    for (const { stream, variant } of this.#directory.publishedVariants()) {
      const key = `${stream}\n${JSON.stringify(variant)}`;
      listed.add(key);
      if (!this.#hashes.has(key)) this.#hashes.set(key, { stream, infoHash: infoHashFor(stream, variant).then(hexOf) });
    }
    for (const key of this.#hashes.keys()) if (!listed.has(key)) this.#hashes.delete(key);
    for (const { stream, infoHash } of this.#hashes.values()) {
      if ((await infoHash) === infoHashHex) return stream;
    }
    return undefined;
  }
}

/** bittorrent-tracker's form of an info hash: the hex of its 20 bytes (p2p-media-loader's are ASCII characters). */
function hexOf(infoHash: string): string {
  return Buffer.from(infoHash, 'latin1').toString('hex');
}
