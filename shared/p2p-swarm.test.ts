// The info hash we compute per variant is the one p2p-media-loader announces: checked against the library's own code.
import { M3U8Parser } from 'hls.js';
import type { ManifestLoadedData } from 'hls.js';
import { Core } from 'p2p-media-loader-core';
import { describe, expect, it } from 'vitest';
// Not exported by the packages (their `exports` maps stop at the root): reached by path to run the very code the player runs.
import { SegmentManager } from '../node_modules/p2p-media-loader-hlsjs/lib/segment-manager.js';
import { getStreamHash } from '../node_modules/p2p-media-loader-core/lib/utils/peer.js';
import { getStreamSwarmId } from '../node_modules/p2p-media-loader-core/lib/utils/stream.js';
import { infoHashFor, swarmIdFor } from './p2p-swarm.ts';
import type { SwarmVariant } from './p2p-swarm.ts';

const MULTIVARIANT_URL = 'http://127.0.0.1:8080/live/news/index.m3u8?token=abc';

/** A multivariant in the origin's format, with the codec spellings our broadcasters and ingest paths produce. */
const MULTIVARIANT = [
  '#EXTM3U',
  '#EXT-X-VERSION:9',
  '#EXT-X-INDEPENDENT-SEGMENTS',
  '#EXT-X-STREAM-INF:BANDWIDTH=1204000,AVERAGE-BANDWIDTH=1100000,CODECS="avc1.42001e,opus",RESOLUTION=854x480,FRAME-RATE=30.000,CLOSED-CAPTIONS=NONE',
  '480p/index.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=2628000,AVERAGE-BANDWIDTH=2500000,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970,CLOSED-CAPTIONS=NONE',
  '720p/index.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=401000,AVERAGE-BANDWIDTH=399000,CODECS="av01.0.04M.08,opus",RESOLUTION=640x360,CLOSED-CAPTIONS=NONE',
  '360p/index.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=300000,CODECS="mp4a.40.2, avc1.66.30",RESOLUTION=426x240,FRAME-RATE=25,VIDEO-RANGE=sdr',
  '240p/index.m3u8',
  '',
].join('\n');

/** The same variants as `SwarmVariant`s, the values as the playlist above writes them. */
const VARIANTS: Record<string, SwarmVariant> = {
  '480p': { bandwidth: 1_204_000, codecs: 'avc1.42001e,opus', width: 854, height: 480, frameRate: '30.000' },
  '720p': { bandwidth: 2_628_000, codecs: 'avc1.640028,mp4a.40.2', width: 1280, height: 720, frameRate: '29.970' },
  '360p': { bandwidth: 401_000, codecs: 'av01.0.04M.08,opus', width: 640, height: 360 },
  '240p': { bandwidth: 300_000, codecs: 'mp4a.40.2, avc1.66.30', width: 426, height: 240, frameRate: '25', videoRange: 'sdr' },
};

/** What p2p-media-loader-hlsjs announces per variant: hls.js parses the playlist, the library derives the hash. */
function libraryInfoHashes(swarmId: string): Map<string, string> {
  const parsed = M3U8Parser.parseMasterPlaylist(MULTIVARIANT, MULTIVARIANT_URL);
  const core = new Core({ swarmId });
  const manager = new SegmentManager(core);
  // processMainManifest reads `levels` and `audioTracks` only (segment-manager.js).
  manager.processMainManifest({ levels: parsed.levels, audioTracks: [] } as unknown as ManifestLoadedData);
  const hashes = new Map<string, string>();
  for (const level of parsed.levels) {
    const stream = core.getStream(level.url);
    if (stream === undefined) throw new Error(`the library registered no stream for ${level.url}`);
    const rendition = new URL(level.url).pathname.split('/').at(-2) ?? '';
    hashes.set(rendition, getStreamHash(getStreamSwarmId(swarmId, stream)));
  }
  return hashes;
}

describe('swarm identity', () => {
  it('names one swarm per stream, independent of host and query', () => {
    expect(swarmIdFor('news')).toBe('swarmcast:news');
  });

  it('computes, for every variant, the info hash p2p-media-loader announces for it', async () => {
    const expected = libraryInfoHashes(swarmIdFor('news'));
    expect([...expected.keys()].sort()).toEqual(Object.keys(VARIANTS).sort());
    for (const [rendition, variant] of Object.entries(VARIANTS)) {
      const hash = await infoHashFor('news', variant);
      expect(hash, rendition).toBe(expected.get(rendition));
      // The tracker's wire format: exactly 20 one-byte characters.
      expect(new TextEncoder().encode(hash)).toHaveLength(20);
    }
  });

  it('gives a different hash for another stream, another rate, another picture size', async () => {
    const base = VARIANTS['480p'];
    if (base === undefined) throw new Error('fixture');
    const hash = await infoHashFor('news', base);
    expect(await infoHashFor('sports', base)).not.toBe(hash);
    expect(await infoHashFor('news', { ...base, bandwidth: base.bandwidth + 1_000 })).not.toBe(hash);
    expect(await infoHashFor('news', { ...base, width: 852 })).not.toBe(hash);
    // The audio codec is not part of the variant's identity, as in the library.
    expect(await infoHashFor('news', { ...base, codecs: 'avc1.42001e,mp4a.40.2' })).toBe(hash);
  });
});
