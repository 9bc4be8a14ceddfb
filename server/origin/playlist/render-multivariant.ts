// Renders the multivariant playlist: one EXT-X-STREAM-INF per rendition that is ready to play, in start order.
import { MEDIA_PLAYLIST } from '../../../shared/playback-path.ts';
import type { SwarmVariant } from '../../../shared/p2p-swarm.ts';
import { MEDIA_PLAYLIST_VERSION } from './render-media.ts';

export interface VariantSnapshot {
  rendition: string;
  /** Peak segment bit rate, bits per second (measured, or declared before the first segment). */
  bandwidth: number;
  /** Average bit rate over the playlist's window, bits per second. */
  averageBandwidth: number;
  /**
   * RFC 6381 codecs of everything the rendition carries. Audio is muxed into every rendition's fMP4 rather than
   * offered as an EXT-X-MEDIA audio group: at LL-HLS rates a separate audio rendition doubles each viewer's requests
   * (a blocking playlist reload and a part per part target, for audio as for video: 10 → 20 requests/s at 200 ms
   * parts) to save the origin (N − 1) × 128 kbit/s of duplicated audio; and a switch changes one stream, whose audio
   * is the same packets in every rung, so it cannot glitch.
   */
  codecs: string;
  width: number;
  height: number;
  frameRate?: number;
}

/**
 * The order the variants are listed in. Players that start on the first variant listed (Safari's native player;
 * hls.js when its bandwidth estimate fits no rung, and so when `startLevel` picks nothing) should start neither on
 * the top rung, which stalls a viewer on a slow link before it has measured anything, nor on the bottom one, which
 * looks bad to most: the middle rung (of those ordered largest picture first) comes first, then the rest from the
 * largest down. Ordered by picture size, not by measured rate, so the order does not flip as rates are re-measured.
 */
export function startOrder(variants: readonly VariantSnapshot[]): VariantSnapshot[] {
  const byPicture = [...variants].sort((a, b) => b.width * b.height - a.width * a.height || b.bandwidth - a.bandwidth);
  const start = byPicture.splice(Math.floor((byPicture.length - 1) / 2), 1);
  return [...start, ...byPicture];
}

/**
 * The EXT-X-STREAM-INF values a player hashes into the variant's P2P swarm, as the playlist writes them: the one
 * place they are formatted, so the tracker admits exactly the info hashes players derive from the playlist.
 */
export function swarmVariantOf(variant: VariantSnapshot): SwarmVariant {
  const written: SwarmVariant = {
    bandwidth: Math.max(1, Math.round(variant.bandwidth)),
    codecs: variant.codecs,
    width: variant.width,
    height: variant.height,
  };
  if (variant.frameRate !== undefined && variant.frameRate > 0) written.frameRate = variant.frameRate.toFixed(3);
  return written;
}

export function renderMultivariantPlaylist(variants: readonly VariantSnapshot[]): string {
  // The version its own tags need; EXT-X-VERSION is per playlist, and the media playlists say theirs.
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${MEDIA_PLAYLIST_VERSION}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const variant of startOrder(variants)) {
    const written = swarmVariantOf(variant);
    const attributes = [
      `BANDWIDTH=${written.bandwidth}`,
      `AVERAGE-BANDWIDTH=${Math.min(written.bandwidth, Math.max(1, Math.round(variant.averageBandwidth)))}`,
      `CODECS="${written.codecs}"`,
      `RESOLUTION=${written.width}x${written.height}`,
    ];
    if (written.frameRate !== undefined) attributes.push(`FRAME-RATE=${written.frameRate}`);
    // No stream carries CEA-608/708 captions; saying so stops players from looking for them.
    attributes.push('CLOSED-CAPTIONS=NONE');
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, `${variant.rendition}/${MEDIA_PLAYLIST}`);
  }
  return lines.join('\n') + '\n';
}
