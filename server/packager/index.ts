// Public surface of the packager stage: wire messages in, CMAF init segments, parts and segments out.
export { StreamPackager } from './stream-packager.ts';
export { PackagerError } from './errors.ts';
export type { RenditionInit, PartChunk, Part, SegmentInfo, PackagerEvents } from './types.ts';
export { packageIngest, ReconnectGrace } from './reconnect-grace.ts';
