// Renders the multivariant playlist: one EXT-X-STREAM-INF per rendition that is ready to play.
import { MEDIA_PLAYLIST } from '../../../shared/playback-path.ts';
import { MEDIA_PLAYLIST_VERSION } from './render-media.ts';

export interface VariantSnapshot {
  rendition: string;
  bandwidth: number;
  codecs: string;
  width: number;
  height: number;
  frameRate?: number;
}

export function renderMultivariantPlaylist(variants: readonly VariantSnapshot[]): string {
  // The version its own tags need; EXT-X-VERSION is per playlist, and the media playlists say theirs.
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${MEDIA_PLAYLIST_VERSION}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const variant of variants) {
    const attributes = [
      `BANDWIDTH=${Math.max(1, Math.round(variant.bandwidth))}`,
      `CODECS="${variant.codecs}"`,
      `RESOLUTION=${variant.width}x${variant.height}`,
    ];
    if (variant.frameRate !== undefined && variant.frameRate > 0) attributes.push(`FRAME-RATE=${variant.frameRate.toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, `${variant.rendition}/${MEDIA_PLAYLIST}`);
  }
  return lines.join('\n') + '\n';
}
