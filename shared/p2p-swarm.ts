// Swarm identity of a stream's variants: the swarm id the player configures and the info hash its tracker client announces.

/**
 * A variant as the multivariant playlist lists it: the EXT-X-STREAM-INF attribute values p2p-media-loader-hlsjs
 * (2.3.1, segment-manager.js) hashes into a stream's id, as hls.js parses them.
 */
export interface SwarmVariant {
  /** BANDWIDTH (the peak rate), bits per second, as written. */
  bandwidth: number;
  /** CODECS as written; only its video codecs count, as hls.js's `videoCodec`. */
  codecs: string;
  /** RESOLUTION width and height, pixels. */
  width: number;
  height: number;
  /** FRAME-RATE as written (`30.000`); absent when the playlist has none. */
  frameRate?: string;
  /** VIDEO-RANGE as written; absent when the playlist has none. */
  videoRange?: string;
}

/** p2p-media-loader's peer protocol version, part of every stream's swarm id (core lib/utils/stream.js). */
const PEER_PROTOCOL_VERSION = 'v2';

/**
 * hls.js's video sample entry codes (`sampleEntryCodesISO.video`): a CODECS entry whose first four characters are one
 * of these is a video codec.
 */
const VIDEO_SAMPLE_ENTRIES = new Set([
  'avc1', 'avc2', 'avc3', 'avc4', 'avcp', 'av01', 'dav1', 'drac', 'dva1', 'dvav', 'dvh1', 'dvhe', 'encv', 'hev1',
  'hvc1', 'mjp2', 'mp4v', 'mvc1', 'mvc2', 'mvc3', 'mvc4', 'resv', 'rv60', 's263', 'svc1', 'svc2', 'vc-1', 'vp08',
  'vp09',
]);

/**
 * The player's p2p-media-loader `swarmId` for a stream: one per stream name, whatever edge, host or query string the
 * viewer plays from, so viewers of every edge meet in the origin's tracker.
 */
export function swarmIdFor(stream: string): string {
  return `swarmcast:${stream}`;
}

/**
 * The 20-character info hash p2p-media-loader 2.3.1 announces to the tracker for one variant of `stream` when the
 * player sets `swarmId: swarmIdFor(stream)`: base64 of the first 15 bytes of SHA-1 over
 * `v2-<swarmId>-main-<stream short id>` (core lib/utils/peer.js getStreamHash, lib/utils/stream.js getStreamSwarmId,
 * generateStreamShortId). Written out here because the library exports none of them in a form Node can load (its
 * root module re-exports `debug` by a name Node's ESM loader rejects); shared/p2p-swarm.test.ts checks it against the
 * library's own functions fed by hls.js's own playlist parser.
 */
export async function infoHashFor(stream: string, variant: SwarmVariant): Promise<string> {
  const shortId = base64(await sha1(streamShortIdSource(variant)));
  const streamSwarmId = `${PEER_PROTOCOL_VERSION}-${swarmIdFor(stream)}-main-${shortId}`;
  return base64((await sha1(streamSwarmId)).subarray(0, 15));
}

/** generateStreamShortId's input string for a main (video) stream: the fields an audio-only track would fill stay empty. */
function streamShortIdSource(variant: SwarmVariant): string {
  const codecs = videoCodecs(variant.codecs).map(normalizeCodec).sort().join(',');
  const frameRate = variant.frameRate !== undefined && variant.frameRate !== '' && !Number.isNaN(Number(variant.frameRate)) ? String(Number(variant.frameRate)) : '';
  const videoRange = variant.videoRange ? variant.videoRange.toUpperCase().trim() : '';
  return `${variant.bandwidth}-${codecs}-${variant.width}-${variant.height}----${frameRate}-${videoRange}`;
}

/** hls.js's `videoCodec`: the CODECS entries of a video sample entry, in order. */
function videoCodecs(codecs: string): string[] {
  return codecs
    .split(/[ ,]+/)
    .filter((codec) => VIDEO_SAMPLE_ENTRIES.has(codec.slice(0, 4)))
    .map((codec) => codec.split('/')[0] ?? codec);
}

/** Lower case, and decimal RFC 4281 avc1 (`avc1.66.30`) written as hex (`avc1.42001e`), as the library does. */
function normalizeCodec(codec: string): string {
  const lower = codec.trim().toLowerCase();
  const [entry, profileText, levelText, ...rest] = lower.split('.');
  if (rest.length > 0 || profileText === undefined || levelText === undefined || (entry !== 'avc1' && entry !== 'avc')) return lower;
  const profile = Number.parseInt(profileText, 10);
  const level = Number.parseInt(levelText, 10);
  if (String(profile) !== profileText || String(level) !== levelText) return lower;
  return `${entry}.${profile.toString(16).padStart(2, '0')}00${level.toString(16).padStart(2, '0')}`;
}

async function sha1(text: string): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-1', new TextEncoder().encode(text)));
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}
