// Public surface of the origin stage: the stream registry, its HTTP routes, its config, and the pure LL-HLS pieces.
export { Origin } from './origin.ts';
export { LiveStream, type PackagedStream, type LiveStreamEvents } from './live-stream.ts';
export { RenditionTimeline } from './rendition-timeline.ts';
export { type WaitOutcome } from './waiters.ts';
export { type PartReader } from './part-fan-out.ts';
export { registerOriginRoutes } from './http.ts';
export { ORIGIN_DEFAULTS, resolveOriginConfig, targetDurationS, skipBoundaryS, SKIP_BOUNDARY_TARGET_DURATIONS, type OriginConfig } from './config.ts';
export { OriginError, type OriginErrorCode } from './errors.ts';
export { parseDeliveryDirectives, assertWithinReach, isSatisfied, advancePartLimit, type DeliveryDirectives, type BlockingRequest, type LiveEdge } from './blocking-reload.ts';
export {
  renderMediaPlaylist,
  skippedSegmentCount,
  MEDIA_PLAYLIST_VERSION,
  DELTA_PLAYLIST_VERSION,
  type MediaPlaylistSnapshot,
  type RenderOptions,
  type RenditionReport,
} from './playlist/render-media.ts';
export { renderMultivariantPlaylist, type VariantSnapshot } from './playlist/render-multivariant.ts';
